package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/fallback"
)

// The Go fallback on the agent's own contract, under /fallback: PYTHON_AGENT_URL set to
// http://<delivery>/fallback makes delivery (or the guide's client) talk to it exactly as
// to the agent. Errors take the agent's shape, {"error": {"code", "message"}}.

func agentError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func decodeAgentRequest(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		agentError(w, http.StatusUnprocessableEntity, "invalid_request", "The body must be a JSON object of the agent's contract.")
		return false
	}
	return true
}

func (s *Server) handleFallbackMessage(w http.ResponseWriter, r *http.Request) {
	var req agent.ProcessMessageRequest
	if !decodeAgentRequest(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.ParticipantID) == "" || strings.TrimSpace(req.PhoneNumber) == "" {
		agentError(w, http.StatusUnprocessableEntity, "invalid_request", "participant_id and phone_number are required.")
		return
	}
	writeJSON(w, http.StatusOK, fallback.Responder{}.Message(req))
}

func (s *Server) handleFallbackEvent(w http.ResponseWriter, r *http.Request) {
	var req agent.ProcessEventRequest
	if !decodeAgentRequest(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.ParticipantID) == "" || strings.TrimSpace(req.Kind) == "" {
		agentError(w, http.StatusUnprocessableEntity, "invalid_request", "participant_id and kind are required.")
		return
	}
	writeJSON(w, http.StatusOK, fallback.Responder{}.Event(req))
}

func (s *Server) handleFallbackHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "healthy", "version": "delivery-fallback"})
}
