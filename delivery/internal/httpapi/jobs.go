package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/jobs"
	"promptpipe/delivery/internal/store"
)

// scheduleRequest asks for a daily job at a local time.
type scheduleRequest struct {
	Kind      string          `json:"kind"`
	LocalTime string          `json:"local_time"`
	Timezone  string          `json:"timezone"`
	Payload   json.RawMessage `json:"payload"`
}

// eventRequest asks for a one-shot job, at run_at or after delay_seconds.
type eventRequest struct {
	Kind         string          `json:"kind"`
	RunAt        *time.Time      `json:"run_at"`
	DelaySeconds *float64        `json:"delay_seconds"`
	Payload      json.RawMessage `json:"payload"`
	DedupeKey    string          `json:"dedupe_key"`
}

func validKind(kind string) bool {
	return kind != "" && len(kind) <= 64 && !strings.ContainsAny(kind, " \t\n")
}

func validPayload(p json.RawMessage) bool {
	if len(p) == 0 {
		return true
	}
	var obj map[string]any
	return json.Unmarshal(p, &obj) == nil
}

func (s *Server) participantFor(w http.ResponseWriter, r *http.Request) (*store.Participant, bool) {
	p, err := s.Store.GetParticipant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, err, "Participant not found")
		return nil, false
	}
	return p, true
}

func (s *Server) handleCreateSchedule(w http.ResponseWriter, r *http.Request) {
	var req scheduleRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	p, found := s.participantFor(w, r)
	if !found {
		return
	}
	tz := req.Timezone
	if tz == "" {
		tz = p.Timezone
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	switch {
	case !validKind(req.Kind):
		fail(w, http.StatusBadRequest, "kind is required (one word, at most 64 characters)")
		return
	case err != nil:
		fail(w, http.StatusBadRequest, "invalid timezone")
		return
	case !validPayload(req.Payload):
		fail(w, http.StatusBadRequest, "payload must be a JSON object")
		return
	}
	first, err := jobs.NextDaily(s.Clock.Now(), req.LocalTime, loc)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	job, _, err := s.Store.CreateJob(r.Context(), &store.Job{
		ParticipantID: p.ID, Type: store.JobSchedule, Kind: req.Kind, Payload: req.Payload,
		OccurrenceAt: first, LocalTime: &req.LocalTime, Timezone: &tz,
	})
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	s.JobsWake.Wake()
	ok(w, http.StatusCreated, "Schedule created", job)
}

func (s *Server) handleCreateEvent(w http.ResponseWriter, r *http.Request) {
	var req eventRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	p, found := s.participantFor(w, r)
	if !found {
		return
	}
	var runAt time.Time
	switch {
	case !validKind(req.Kind):
		fail(w, http.StatusBadRequest, "kind is required (one word, at most 64 characters)")
		return
	case (req.RunAt == nil) == (req.DelaySeconds == nil):
		fail(w, http.StatusBadRequest, "give exactly one of run_at and delay_seconds")
		return
	case req.DelaySeconds != nil && *req.DelaySeconds < 0:
		fail(w, http.StatusBadRequest, "delay_seconds must not be negative")
		return
	case !validPayload(req.Payload):
		fail(w, http.StatusBadRequest, "payload must be a JSON object")
		return
	case req.RunAt != nil:
		runAt = req.RunAt.UTC()
	default:
		runAt = s.Clock.Now().Add(time.Duration(*req.DelaySeconds * float64(time.Second)))
	}
	j := &store.Job{ParticipantID: p.ID, Type: store.JobEvent, Kind: req.Kind, Payload: req.Payload, OccurrenceAt: runAt}
	if req.DedupeKey != "" {
		j.DedupeKey = &req.DedupeKey
	}
	job, created, err := s.Store.CreateJob(r.Context(), j)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	if !created {
		ok(w, http.StatusOK, "An event with this dedupe_key is already pending", job)
		return
	}
	s.JobsWake.Wake()
	ok(w, http.StatusCreated, "Event scheduled", job)
}

func (s *Server) listJobs(jobType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, found := s.participantFor(w, r)
		if !found {
			return
		}
		list, err := s.Store.ListPendingJobs(r.Context(), p.ID, jobType)
		if err != nil {
			s.storeError(w, r, err, "")
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Status string      `json:"status"`
			Result []store.Job `json:"result"`
		}{"ok", list})
	}
}

func (s *Server) cancelJob(jobType, notFound string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.Store.CancelJob(r.Context(), r.PathValue("id"), jobType, r.PathValue("job")); err != nil {
			s.storeError(w, r, err, notFound)
			return
		}
		ok(w, http.StatusOK, "Canceled", nil)
	}
}

// clockView is what /dev/clock shows.
type clockView struct {
	Now           time.Time `json:"now"`
	OffsetSeconds float64   `json:"offset_seconds"`
}

func (s *Server) handleGetClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, clockView{s.Clock.Now(), s.Clock.Offset().Seconds()})
}

// handleMoveClock moves virtual time: {"advance": "5h"} or {"set": RFC3339}. Jobs due on
// the way fire at their own time, in order, as if the time had really passed (see
// clock.Travel).
func (s *Server) handleMoveClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Advance string     `json:"advance"`
		Set     *time.Time `json:"set"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	var target time.Time
	switch {
	case (req.Advance == "") == (req.Set == nil):
		fail(w, http.StatusBadRequest, `give exactly one of "advance" (a duration such as 5h) and "set" (RFC 3339)`)
		return
	case req.Set != nil:
		target = *req.Set
	default:
		d, err := time.ParseDuration(req.Advance)
		if err != nil || d < 0 {
			fail(w, http.StatusBadRequest, "advance must be a positive duration such as 10m, 5h or 24h")
			return
		}
		target = s.Clock.Now().Add(d)
	}
	stragglers, err := s.Clock.Travel(r.Context(), target, s.Store, s.JobsWake.Wake)
	if errors.Is(err, clock.ErrBackwards) {
		fail(w, http.StatusBadRequest, "the clock only moves forward")
		return
	}
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	if stragglers > 0 {
		s.Log.Warn("time travel went on before due work settled", "stops", stragglers)
	}
	s.handleGetClock(w, r)
}
