package httpapi

import (
	"crypto/subtle"
	_ "embed"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"promptpipe/delivery/internal/store"
)

// openAPI describes every route below; a test keeps the two in step.
//
//go:embed openapi/openapi.json
var openAPI []byte

// Routes returns every route of delivery.
func (s *Server) Routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /webhooks/whatsapp", s.handleVerify)
	mux.HandleFunc("POST /webhooks/whatsapp", s.handleWebhook)

	admin := func(h http.HandlerFunc) http.Handler { return s.requireToken(h) }
	mux.Handle("POST /conversation/participants", admin(s.handleEnroll))
	mux.Handle("GET /conversation/participants", admin(s.handleListParticipants))
	mux.Handle("GET /conversation/participants/{id}", admin(s.handleGetParticipant))
	mux.Handle("PUT /conversation/participants/{id}", admin(s.handleUpdateParticipant))
	mux.Handle("DELETE /conversation/participants/{id}", admin(s.handleDeleteParticipant))
	mux.Handle("GET /conversation/participants/{id}/messages", admin(s.handleParticipantMessages))
	mux.Handle("POST /conversation/participants/{id}/schedules", admin(s.handleCreateSchedule))
	mux.Handle("GET /conversation/participants/{id}/schedules", admin(s.listJobs(store.JobSchedule)))
	mux.Handle("DELETE /conversation/participants/{id}/schedules/{job}", admin(s.cancelJob(store.JobSchedule, "Schedule not found")))
	mux.Handle("POST /conversation/participants/{id}/events", admin(s.handleCreateEvent))
	mux.Handle("DELETE /conversation/participants/{id}/events/{job}", admin(s.cancelJob(store.JobEvent, "Event not found")))
	mux.Handle("GET /conversation/participants/{id}/jobs", admin(s.listJobs("")))
	mux.Handle("/conversation/participants", admin(methodNotAllowed("GET, POST")))

	// The rest of PromptPipe's API.
	mux.Handle("POST /send", admin(s.handleSend))
	mux.Handle("POST /schedule", admin(s.handleSchedule))
	mux.Handle("GET /receipts", admin(s.handleReceipts))
	mux.Handle("POST /response", admin(s.handleRecordResponse))
	mux.Handle("GET /responses", admin(s.handleResponses))
	mux.Handle("GET /stats", admin(s.handleStats))
	mux.Handle("GET /timers", admin(s.handleTimers))
	mux.Handle("GET /timers/{id}", admin(s.handleTimer))
	mux.Handle("GET /dead-letters", admin(s.handleDeadLetters))
	mux.Handle("DELETE /timers/{id}", admin(s.handleCancelTimer))
	for path, allow := range map[string]string{"/send": "POST", "/schedule": "POST", "/receipts": "GET", "/response": "POST",
		"/responses": "GET", "/stats": "GET", "/dead-letters": "GET", "/timers": "GET", "/timers/{id}": "GET, DELETE"} {
		mux.Handle(path, admin(methodNotAllowed(allow)))
	}
	mux.Handle("/conversation/participants/{id}", admin(methodNotAllowed("GET, PUT, DELETE")))

	if s.Clock.Virtual() {
		mux.Handle("GET /dev/clock", admin(s.handleGetClock))
		mux.Handle("POST /dev/clock", admin(s.unlessPaused(s.handleMoveClock)))
	}
	if s.Gate != nil { // world save and load (world.go)
		mux.Handle("GET /dev/world", admin(s.handleExportWorld))
		mux.Handle("PUT /dev/world", admin(s.handleImportWorld))
		mux.Handle("POST /dev/world/pause", admin(s.handlePauseWork))
		mux.Handle("POST /dev/world/resume", admin(s.handleResumeWork))
	}
	if s.Events != nil {
		mux.Handle("GET /dev/events", admin(s.handleDevEvents))
	}
	if s.AgentFaults != nil {
		mux.Handle("GET /dev/faults/agent", admin(getAgentFault(s.AgentFaults)))
		mux.Handle("PUT /dev/faults/agent", admin(s.putAgentFault(s.AgentFaults, "primary")))
	}
	if s.CandidateFaults != nil {
		mux.Handle("GET /dev/faults/agent/candidate", admin(getAgentFault(s.CandidateFaults)))
		mux.Handle("PUT /dev/faults/agent/candidate", admin(s.putAgentFault(s.CandidateFaults, "candidate")))
	} else if s.AgentFaults != nil {
		// No candidate: the switch is not there, said in the API's error shape and after
		// the token check, as the document has it (not the mux's plain-text 404).
		mux.Handle("/dev/faults/agent/candidate", admin(noCandidateFaults))
	}
	if s.Migration != nil {
		mux.Handle("GET /dev/migration", admin(s.handleMigration))
		mux.Handle("POST /dev/migration/rollout", admin(s.handleStartRollout))
		mux.Handle("POST /dev/migration/promote", admin(s.handlePromote))
		mux.Handle("POST /dev/migration/rollback", admin(s.handleRollback))
		mux.Handle("PUT /dev/migration/shadow", admin(s.handleShadow))
	}
	// The Go fallback on the agent's contract: PYTHON_AGENT_URL=http://<delivery>/fallback.
	mux.HandleFunc("POST /fallback/process-message", s.handleFallbackMessage)
	mux.HandleFunc("POST /fallback/process-event", s.handleFallbackEvent)
	mux.HandleFunc("GET /fallback/health", s.handleFallbackHealth)

	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	return mux
}

// requireToken guards the admin API when DELIVERY_API_TOKEN is set.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.APIToken != "" {
			got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !found || subtle.ConstantTimeCompare([]byte(got), []byte(s.APIToken)) != 1 {
				w.Header().Set("WWW-Authenticate", "Bearer")
				fail(w, http.StatusUnauthorized, "Missing or invalid bearer token")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// methodNotAllowed answers other methods with PromptPipe's JSON 405.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		fail(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}
