// Package httpapi is delivery's HTTP surface: WhatsApp webhooks, PromptPipe's admin API,
// health and metrics.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/store"
)

// Server holds what the handlers need.
type Server struct {
	Store       *store.Store
	Metrics     *metrics.Metrics
	Log         *slog.Logger
	AppSecret   string
	VerifyToken string
	APIToken    string
	// Told when new work is committed, so that it starts at once rather than at the
	// next poll: an inbound message, an outbound message, a job or a clock move.
	InboundWake Waker
	OutboxWake  Waker
	JobsWake    Waker
	Clock       *clock.Clock
	// AgentFaults is the dev stack's agent fault switch; nil (no /dev/faults routes)
	// unless the clock is virtual, the same gate as /dev/clock.
	AgentFaults *agent.Faults
	// Events is the dev stack's feed of delivery's work (GET /dev/events); nil otherwise.
	Events *devevents.Feed
	// Migration is the agent arms' report and controls (/dev/migration); nil: none.
	Migration *Migration
	// CandidateFaults is the candidate agent's fault switch, gated as AgentFaults is and
	// nil without a candidate.
	CandidateFaults *agent.Faults
}

// Waker is a queue runner (or anything) told that work may be waiting.
type Waker interface{ Wake() }

// envelope is PromptPipe's response shape.
type envelope struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Result  any    `json:"result,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, status int, message string, result any) {
	writeJSON(w, status, envelope{Status: "ok", Message: message, Result: result})
}

func fail(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, envelope{Status: "error", Message: message})
}

// storeError maps storage errors to HTTP in one place; internals are logged, not shown.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(w, http.StatusNotFound, notFound)
	case errors.Is(err, context.Canceled):
		fail(w, http.StatusServiceUnavailable, "Request cancelled")
	default:
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		fail(w, http.StatusInternalServerError, "Internal server error")
	}
}

// decodeJSON reads a JSON body into v; PromptPipe's text on failure.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON format")
		return false
	}
	return true
}
