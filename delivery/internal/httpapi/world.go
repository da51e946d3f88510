package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"promptpipe/delivery/internal/store"
)

// A world of fifty participants over two weeks is a few megabytes; this leaves room.
const maxWorldBytes = 256 << 20

// Bounds of a pause: long enough to save or load a large world, short enough that a
// simulator that died mid-way leaves delivery stopped only briefly.
const (
	defaultPauseLimit = 2 * time.Minute
	maxPauseLimit     = time.Hour
	drainTimeout      = 30 * time.Second
)

// worldLoaded sums up what a load replaced.
type worldLoaded struct {
	Now    time.Time      `json:"now"`
	Rows   map[string]int `json:"rows"`
	DryRun bool           `json:"dry_run,omitempty"`
}

// handlePauseWork stops the work queue (no new claims) and answers once the tasks in
// flight have settled, so that a save sees nothing half-done. {"limit_seconds": N}
// (default 120) lifts the pause by itself if nobody resumes it.
func (s *Server) handlePauseWork(w http.ResponseWriter, r *http.Request) {
	limit, valid := pauseLimit(w, r)
	if !valid {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), drainTimeout)
	defer cancel()
	if err := s.Gate.Pause(ctx, limit); err != nil {
		fail(w, http.StatusServiceUnavailable, "Work still in flight after 30 s; the pause holds, ask again to keep waiting")
		return
	}
	ok(w, http.StatusOK, "Paused: no work in flight", map[string]any{"paused": true, "now": s.Clock.Now()})
}

// pauseLimit reads the optional body {"limit_seconds": N}: no body, or no field, is the
// default; anything else that is not a number in (0, 3600] is refused.
func pauseLimit(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	if r.ContentLength == 0 {
		return defaultPauseLimit, true
	}
	var req *struct {
		LimitSeconds json.RawMessage `json:"limit_seconds"`
	}
	if !decodeJSON(w, r, &req) {
		return 0, false
	}
	if req == nil {
		fail(w, http.StatusBadRequest, `the body is an object: {"limit_seconds": 120}, or nothing`)
		return 0, false
	}
	if req.LimitSeconds == nil {
		return defaultPauseLimit, true
	}
	var seconds float64
	limit := time.Duration(0)
	if err := json.Unmarshal(req.LimitSeconds, &seconds); err == nil && string(req.LimitSeconds) != "null" {
		limit = time.Duration(seconds * float64(time.Second))
	}
	if limit <= 0 || limit > maxPauseLimit {
		fail(w, http.StatusBadRequest, "limit_seconds must be a number more than 0 and at most 3600")
		return 0, false
	}
	return limit, true
}

// handleResumeWork lets the work queue run again.
func (s *Server) handleResumeWork(w http.ResponseWriter, _ *http.Request) {
	s.Gate.Resume()
	for _, q := range []Waker{s.InboundWake, s.OutboxWake, s.JobsWake} {
		if q != nil {
			q.Wake()
		}
	}
	ok(w, http.StatusOK, "Resumed", map[string]any{"paused": false, "now": s.Clock.Now()})
}

// handleExportWorld answers delivery's whole state: every table's rows and the virtual
// time, read in one snapshot.
func (s *Server) handleExportWorld(w http.ResponseWriter, r *http.Request) {
	world, err := s.Store.ExportWorld(r.Context(), s.Clock.Now())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, world)
}

// handleImportWorld replaces delivery's state with a saved world's and moves the clock
// to the world's time (back, if need be). The work queue is paused around it unless the
// caller paused it already; ?dry_run=true only checks that the world would load.
func (s *Server) handleImportWorld(w http.ResponseWriter, r *http.Request) {
	var world store.World
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWorldBytes)).Decode(&world); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON format")
		return
	}
	dryRun := r.URL.Query().Get("dry_run") == "true"
	if !dryRun && !s.Gate.Paused() {
		ctx, cancel := context.WithTimeout(r.Context(), drainTimeout)
		defer cancel()
		if err := s.Gate.Pause(ctx, defaultPauseLimit); err != nil {
			s.Gate.Resume()
			fail(w, http.StatusServiceUnavailable, "Work still in flight after 30 s; nothing was loaded")
			return
		}
		defer s.handleResumeWork(discard{}, r)
	}
	err := s.Store.ImportWorld(r.Context(), &world, dryRun)
	var mismatch *store.ErrWorldMismatch
	if errors.As(err, &mismatch) {
		fail(w, http.StatusUnprocessableEntity, mismatch.Reason)
		return
	}
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	if !dryRun {
		if err := s.Clock.Reload(r.Context()); err != nil {
			s.storeError(w, r, err, "")
			return
		}
		s.Log.Info("world loaded", "now", s.Clock.Now())
	}
	rows := map[string]int{}
	for name, raw := range world.Tables {
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items)
		rows[name] = len(items)
	}
	ok(w, http.StatusOK, "World loaded", worldLoaded{Now: s.Clock.Now(), Rows: rows, DryRun: dryRun})
}

// unlessPaused refuses a request that would start work (time travel) while the queue is
// paused: it would wait on work that cannot run.
func (s *Server) unlessPaused(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Gate.Paused() {
			fail(w, http.StatusConflict, "delivery is paused for a world save or load; try again once it resumes")
			return
		}
		next(w, r)
	}
}

// discard is a ResponseWriter for a handler run for its effect only.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
