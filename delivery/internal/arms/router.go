// Package arms routes each conversation turn to one of two agents on the same contract:
// the primary (PYTHON_AGENT_URL) or the candidate (AGENT_CANDIDATE_URL). A participant's
// arm is sticky: a hash of their id puts them at a point from 0 to 99, and the candidate
// serves the points below the rollout percentage, so raising it only ever moves
// participants from the primary to the candidate, and the same ones stay there.
//
// The Router stands where the agent client stood (inbound.Agent, jobs.Agent): it times
// each turn per arm, tells the reply which arm served it, and, while shadow mode is on,
// hands each turn the primary served to the shadow (package shadow) after the fact.
package arms

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sync"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/fallback"
	"promptpipe/delivery/internal/metrics"
)

// The arms, and what answered when the serving arm failed.
const (
	Primary   = "primary"
	Candidate = "candidate"
	Fallback  = "fallback"
)

// Bucket is a participant's point on the 0..99 line: FNV-1a of the id, modulo 100.
func Bucket(participantID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(participantID))
	return int(h.Sum32() % 100)
}

// ArmOf is the arm that serves a participant at a rollout percentage.
func ArmOf(participantID string, percent int) string {
	if Bucket(participantID) < percent {
		return Candidate
	}
	return Primary
}

// Agent is one arm: the agent client, with delivery's retries.
type Agent interface {
	ProcessMessageWithRetry(ctx context.Context, req agent.ProcessMessageRequest, maxAttempts int) (*agent.ProcessMessageResponse, error)
	ProcessEventWithRetry(ctx context.Context, req agent.ProcessEventRequest, maxAttempts int) (*agent.ProcessMessageResponse, error)
}

// Switches is the rollout's current setting (package rollout).
type Switches interface {
	Percent() int
	Shadowing() bool
}

// Shadow takes a turn the primary served, with the primary's comparison (the state
// before the turn, its tool calls), and runs it at the candidate off the reply's path.
// It must return at once.
type Shadow interface {
	Message(req agent.ProcessMessageRequest, primary *agent.ProcessMessageResponse, took time.Duration, compare json.RawMessage)
	Event(req agent.ProcessEventRequest, primary *agent.ProcessMessageResponse, took time.Duration, compare json.RawMessage)
}

// Router serves turns from the arms. Candidate nil means there is none: everyone is on
// the primary whatever the percentage.
type Router struct {
	Primary Agent
	// Comparing is the primary asked to return its comparison too (the header
	// X-PromptPipe-Compare); used instead of Primary while shadowing.
	Comparing Agent
	Candidate Agent
	Switches  Switches
	Shadow    Shadow // nil: no shadow
	Stats     *Stats
	Metrics   *metrics.Migration
	Now       func() time.Time
	// Responder answers when the serving arm fails after its retries; nil: Apology.
	Responder func(agent.ProcessMessageRequest) agent.ProcessMessageResponse
	Apology   string

	// The message ids whose answer was counted: a message kept through an outage is
	// handed to the agent again later (inbound's replays), and counts once.
	counted answerLog
}

// answerLog remembers the latest message ids, a bounded number of them.
type answerLog struct {
	mu    sync.Mutex
	seen  map[string]bool
	order []string
}

// first tells whether id is new (and remembers it); an empty id is always new.
func (l *answerLog) first(id string) bool {
	if id == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[id] {
		return false
	}
	l.seen[id] = true
	l.order = append(l.order, id)
	if len(l.order) > 10_000 {
		delete(l.seen, l.order[0])
		l.order = l.order[1:]
	}
	return true
}

// ArmOf is the arm that serves this participant now.
func (r *Router) ArmOf(participantID string) string {
	if r.Candidate == nil {
		return Primary
	}
	return ArmOf(participantID, r.Switches.Percent())
}

// ProcessMessageWithRetry serves a message from the participant's arm.
func (r *Router) ProcessMessageWithRetry(ctx context.Context, req agent.ProcessMessageRequest, maxAttempts int) (*agent.ProcessMessageResponse, error) {
	arm, client, shadowing := r.pick(req.ParticipantID)
	if r.counted.first(req.MessageID) {
		answer := fallback.Answer(req.Message)
		r.Metrics.Answers.WithLabelValues(arm, answer).Inc()
		r.Stats.Answered(arm, answer)
	}
	start := time.Now()
	resp, err := client.ProcessMessageWithRetry(ctx, req, maxAttempts)
	took := time.Since(start)
	compare := r.finish(arm, resp, err, took)
	if shadowing && err == nil {
		r.Shadow.Message(req, resp, took, compare)
	}
	return resp, err
}

// ProcessEventWithRetry serves a due event from the participant's arm.
func (r *Router) ProcessEventWithRetry(ctx context.Context, req agent.ProcessEventRequest, maxAttempts int) (*agent.ProcessMessageResponse, error) {
	arm, client, shadowing := r.pick(req.ParticipantID)
	start := time.Now()
	resp, err := client.ProcessEventWithRetry(ctx, req, maxAttempts)
	took := time.Since(start)
	compare := r.finish(arm, resp, err, took)
	if err == nil && req.Kind == "daily_prompt" && resp.Response != "" {
		r.Metrics.DailyPrompts.WithLabelValues(arm).Inc()
		r.Stats.Prompted(arm)
	}
	if shadowing && err == nil {
		r.Shadow.Event(req, resp, took, compare)
	}
	return resp, err
}

// Fallback is the answer when the serving arm failed after its retries: the Go
// responder's, or the guide's apology.
func (r *Router) Fallback(req agent.ProcessMessageRequest) agent.ProcessMessageResponse {
	if r.Responder == nil {
		r.Metrics.Fallbacks.WithLabelValues("apology").Inc()
		return agent.ProcessMessageResponse{Response: r.Apology, Arm: Fallback}
	}
	r.Metrics.Fallbacks.WithLabelValues("responder").Inc()
	resp := r.Responder(req)
	resp.Arm = Fallback
	return resp
}

func (r *Router) pick(participantID string) (arm string, client Agent, shadowing bool) {
	arm = r.ArmOf(participantID)
	if arm == Candidate {
		return arm, r.Candidate, false
	}
	if r.Candidate != nil && r.Shadow != nil && r.Switches.Shadowing() {
		return arm, r.Comparing, true
	}
	return arm, r.Primary, false
}

// finish records the turn and marks the answer with its arm; it takes the comparison out
// of the answer's metadata, so that it goes no further than the shadow.
func (r *Router) finish(arm string, resp *agent.ProcessMessageResponse, err error, took time.Duration) json.RawMessage {
	status, state := "success", ""
	if err != nil {
		status = "error"
	} else {
		state = resp.State
	}
	r.Metrics.ArmRequests.WithLabelValues(arm, status).Inc()
	r.Metrics.ArmDuration.WithLabelValues(arm).Observe(took.Seconds())
	r.Stats.Add(Turn{At: r.Now(), Arm: arm, OK: err == nil, Latency: took, State: state})
	if err != nil {
		return nil
	}
	resp.Arm = arm
	raw, found := resp.Metadata["compare"]
	if !found {
		return nil
	}
	delete(resp.Metadata, "compare")
	compare, _ := json.Marshal(raw)
	return compare
}
