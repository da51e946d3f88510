package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"promptpipe/delivery/internal/agent"
)

// maxFaultDelay bounds a simulated slow agent; longer than any sane timeout is pointless.
const maxFaultDelay = 10 * time.Minute

type agentFaultView struct {
	Mode         string  `json:"mode"`
	DelaySeconds float64 `json:"delay_seconds"`
}

func viewFault(f agent.Fault) agentFaultView {
	return agentFaultView{Mode: f.Mode, DelaySeconds: f.Delay.Seconds()}
}

// handleDevEvents lists delivery's recent work after event `after` (default 0), at most
// `limit` (default 200, at most 1000) events, oldest first.
func (s *Server) handleDevEvents(w http.ResponseWriter, r *http.Request) {
	after, limit := int64(0), 200
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fail(w, http.StatusBadRequest, "after must be a non-negative event id")
			return
		}
		after = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(w, http.StatusBadRequest, "limit must be between 1 and 1000")
			return
		}
		limit = n
	}
	ok(w, http.StatusOK, "", s.Events.After(after, limit))
}

// getAgentFault shows what a dev fault switch does to calls to an agent (the primary's
// switch, or the candidate's).
func getAgentFault(faults *agent.Faults) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { ok(w, http.StatusOK, "", viewFault(faults.Get())) }
}

// noCandidateFaults answers the candidate's switch when no candidate is configured.
func noCandidateFaults(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPut {
		methodNotAllowed("GET, PUT")(w, r)
		return
	}
	fail(w, http.StatusNotFound, "No candidate agent is configured (AGENT_CANDIDATE_URL): it has no fault switch")
}

// putAgentFault sets a switch: {"mode": "ok"|"down"|"slow", "delay_seconds": N}.
// "down" makes every attempt fail as a network error would, so the worker's real
// retries run and then the fallback goes out; "slow" delays each attempt.
func (s *Server) putAgentFault(faults *agent.Faults, arm string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.setAgentFault(w, r, faults, arm) }
}

func (s *Server) setAgentFault(w http.ResponseWriter, r *http.Request, faults *agent.Faults, arm string) {
	var req struct {
		Mode         string   `json:"mode"`
		DelaySeconds *float64 `json:"delay_seconds"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	fault := agent.Fault{Mode: req.Mode}
	if req.DelaySeconds != nil {
		fault.Delay = time.Duration(*req.DelaySeconds * float64(time.Second))
	}
	switch {
	case req.Mode != agent.FaultOK && req.Mode != agent.FaultDown && req.Mode != agent.FaultSlow && req.Mode != agent.FaultInvalid:
		fail(w, http.StatusBadRequest, `mode must be "ok", "down", "slow" or "invalid"`)
		return
	case fault.Delay < 0 || fault.Delay > maxFaultDelay:
		fail(w, http.StatusBadRequest, "delay_seconds must be between 0 and 600")
		return
	case req.Mode == agent.FaultSlow && fault.Delay == 0:
		fail(w, http.StatusBadRequest, `mode "slow" needs a positive delay_seconds`)
		return
	}
	if req.Mode != agent.FaultSlow {
		fault.Delay = 0
	}
	faults.Set(fault)
	s.Log.Warn("agent fault switch set", "arm", arm, "mode", fault.Mode, "delay_seconds", fault.Delay.Seconds())
	ok(w, http.StatusOK, "", viewFault(fault))
}
