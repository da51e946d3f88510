package httpapi

import (
	"context"
	"net/http"
	"time"
)

// handleHealth keeps PromptPipe's shape: active participants, or 503 degraded.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	n, err := s.Store.CountActive(ctx)
	now := s.Clock.Now().UTC().Format(time.RFC3339)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"status": "degraded", "timestamp": now, "error": "Failed to fetch participant metrics"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "timestamp": now, "active_participants": n})
}

// handleHealthz says the process is up; it does no I/O.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz says whether delivery can do its work: the database answers.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
