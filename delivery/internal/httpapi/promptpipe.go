package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"promptpipe/delivery/internal/jobs"
	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// PromptPipe's limits on prompts.
const (
	maxBodyLength        = 4096
	minBranchOptions     = 2
	maxBranchOptions     = 10
	maxBranchLabelLength = 100
	maxBranchBodyLength  = 1000
)

// prompt is PromptPipe's Prompt, the body of POST /send and POST /schedule.
type prompt struct {
	To            string         `json:"to"`
	Schedule      *jobs.Calendar `json:"schedule"`
	Type          string         `json:"type"`
	Body          string         `json:"body"`
	SystemPrompt  string         `json:"system_prompt"`
	UserPrompt    string         `json:"user_prompt"`
	BranchOptions []branchOption `json:"branch_options"`
}

type branchOption struct {
	Label string `json:"label"`
	Body  string `json:"body"`
}

// text validates the prompt as PromptPipe did and renders what the phone receives.
func (p prompt) text() (string, error) {
	switch p.Type {
	case "", "static":
		switch {
		case p.Body == "":
			return "", fmt.Errorf("body is required for static prompts")
		case utf8.RuneCountInString(p.Body) > maxBodyLength:
			return "", fmt.Errorf("body exceeds maximum length of %d characters", maxBodyLength)
		}
		return p.Body, nil
	case "branch":
		switch {
		case len(p.BranchOptions) < minBranchOptions:
			return "", fmt.Errorf("insufficient branch options")
		case len(p.BranchOptions) > maxBranchOptions:
			return "", fmt.Errorf("too many branch options")
		}
		var b strings.Builder
		if p.Body != "" {
			b.WriteString(p.Body + "\n\n")
		}
		for i, o := range p.BranchOptions {
			switch {
			case o.Label == "" || utf8.RuneCountInString(o.Label) > maxBranchLabelLength:
				return "", fmt.Errorf("branch label exceeds maximum length")
			case o.Body == "" || utf8.RuneCountInString(o.Body) > maxBranchBodyLength:
				return "", fmt.Errorf("branch body exceeds maximum length")
			}
			fmt.Fprintf(&b, "%d. %s: %s\n", i+1, o.Label, o.Body)
		}
		fmt.Fprintf(&b, "\nReply with the number of your choice (1-%d).", len(p.BranchOptions))
		return b.String(), nil
	case "genai", "conversation", "custom":
		// What to say is the agent's job; delivery only delivers fixed text.
		return "", fmt.Errorf("prompt type %s is not supported here: enroll the participant and let the agent talk", p.Type)
	}
	return "", fmt.Errorf("invalid prompt type")
}

// readPrompt decodes and validates a prompt; it answers the request itself when invalid.
func readPrompt(w http.ResponseWriter, r *http.Request) (p prompt, to, text string, valid bool) {
	if !decodeJSON(w, r, &p) {
		return p, "", "", false
	}
	if p.To == "" {
		fail(w, http.StatusBadRequest, "to is required")
		return p, "", "", false
	}
	to, err := phone.Canonical(p.To)
	if err != nil {
		fail(w, http.StatusBadRequest, "Invalid recipient: "+err.Error())
		return p, "", "", false
	}
	if text, err = p.text(); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return p, "", "", false
	}
	return p, to, text, true
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	_, to, text, valid := readPrompt(w, r)
	if !valid {
		return
	}
	if err := s.Store.QueueText(r.Context(), store.Outbound{
		Phone: to, Type: "text", Body: text, Payload: whatsapp.TextMessage(to, text),
	}); err != nil {
		s.storeError(w, r, err, "")
		return
	}
	s.OutboxWake.Wake()
	ok(w, http.StatusOK, "Message sent successfully", nil)
}

// handleSchedule sends a prompt on a recurring calendar schedule, durably (PromptPipe kept
// these in memory and lost them on restart).
func (s *Server) handleSchedule(w http.ResponseWriter, r *http.Request) {
	p, to, text, valid := readPrompt(w, r)
	if !valid {
		return
	}
	if p.Schedule == nil {
		fail(w, http.StatusBadRequest, "Missing required field: schedule")
		return
	}
	if p.Schedule.Timezone == "" {
		p.Schedule.Timezone = "UTC"
	}
	if err := p.Schedule.Validate(); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	first, err := p.Schedule.Next(s.Clock.Now())
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	payload, _ := json.Marshal(jobs.PromptPayload{To: to, Text: text, Schedule: *p.Schedule})
	job, _, err := s.Store.CreateJob(r.Context(), &store.Job{Type: store.JobPrompt, Kind: "prompt", Payload: payload, OccurrenceAt: first})
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	s.JobsWake.Wake()
	ok(w, http.StatusCreated, "Scheduled successfully", job.ID)
}

func (s *Server) handleReceipts(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Receipts(r.Context())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status string          `json:"status"`
		Result []store.Receipt `json:"result"`
	}{"ok", list})
}

// handleRecordResponse stores a response given through the API; unlike PromptPipe it
// validates what it stores.
func (s *Server) handleRecordResponse(w http.ResponseWriter, r *http.Request) {
	var req struct {
		From string `json:"from"`
		Body string `json:"body"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	from, err := phone.Canonical(req.From)
	switch {
	case req.From == "":
		fail(w, http.StatusBadRequest, "from is required")
		return
	case err != nil:
		fail(w, http.StatusBadRequest, "Invalid sender: "+err.Error())
		return
	case strings.TrimSpace(req.Body) == "":
		fail(w, http.StatusBadRequest, "body is required")
		return
	}
	if err := s.Store.RecordResponse(r.Context(), from, req.Body, s.Clock.Now()); err != nil {
		s.storeError(w, r, err, "")
		return
	}
	ok(w, http.StatusCreated, "Response recorded successfully", nil)
}

func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Responses(r.Context())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status string           `json:"status"`
		Result []store.Response `json:"result"`
	}{"ok", list})
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Responses(r.Context())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	perSender := map[string]int{}
	total := 0
	for _, resp := range list {
		perSender[resp.From]++
		total += len(resp.Body) // bytes, as PromptPipe counted
	}
	avg := 0.0
	if len(list) > 0 {
		avg = float64(total) / float64(len(list))
	}
	ok(w, http.StatusOK, "", map[string]any{
		"total_responses": len(list), "responses_per_sender": perSender, "avg_response_length": avg,
	})
}

// timerInfo is PromptPipe's TimerInfo, describing one of our jobs.
type timerInfo struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"` // once | recurring
	ScheduledAt time.Time      `json:"scheduled_at"`
	ExpiresAt   *time.Time     `json:"expires_at,omitempty"`
	Schedule    map[string]any `json:"schedule,omitempty"`
	NextRun     *time.Time     `json:"next_run,omitempty"`
	Remaining   string         `json:"remaining"`
	Description string         `json:"description"`
}

func (s *Server) timerInfo(j store.Job) timerInfo {
	t := timerInfo{
		ID: j.ID, ScheduledAt: j.CreatedAt, Remaining: j.OccurrenceAt.Sub(s.Clock.Now()).Round(time.Second).String(),
		Description: fmt.Sprintf("%s for participant %s", j.Kind, j.ParticipantID),
	}
	if j.Type == store.JobPrompt {
		var p jobs.PromptPayload
		_ = json.Unmarshal(j.Payload, &p)
		t.Description = fmt.Sprintf("prompt to %s", phone.Mask(p.To))
		t.Type, t.NextRun, t.Schedule = "recurring", &j.OccurrenceAt, map[string]any{"schedule": p.Schedule}
		return t
	}
	at := j.OccurrenceAt
	if j.Type == store.JobEvent {
		t.Type, t.ExpiresAt = "once", &at
		return t
	}
	t.Type, t.NextRun = "recurring", &at
	t.Schedule = map[string]any{"local_time": j.LocalTime, "timezone": j.Timezone}
	return t
}

func (s *Server) handleTimers(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.Store.ListPendingJobs(r.Context(), "", "")
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	timers := make([]timerInfo, 0, len(jobs))
	for _, j := range jobs {
		timers = append(timers, s.timerInfo(j))
	}
	writeJSON(w, http.StatusOK, map[string]any{"timers": timers, "count": len(timers)})
}

func (s *Server) handleTimer(w http.ResponseWriter, r *http.Request) {
	j, err := s.Store.GetJob(r.Context(), r.PathValue("id"))
	if err != nil || j.Status != "pending" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Timer not found"})
		return
	}
	writeJSON(w, http.StatusOK, s.timerInfo(*j))
}

func (s *Server) handleCancelTimer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.Store.CancelJobByID(r.Context(), id); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Timer not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Timer cancelled successfully", "timerID": id, "canceled": true})
}
