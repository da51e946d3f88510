// Package fallback is delivery's own small conversation flow, the integration guide's
// "Go flow kept as fallback": it answers on the agent's contract (/process-message,
// /process-event) with no agent, no model and no state, so a participant's day goes on
// while the agent is away. It answers in two places: in process, when the serving agent
// fails after its retries (AGENT_FALLBACK=responder), and over HTTP at /fallback, so the
// guide's rollback step, pointing PYTHON_AGENT_URL at the Go fallback, works as written.
//
// It is deterministic: the same message gets the same answer. It acknowledges, takes a
// daily prompt's Done / Next time, says the coach will be back, and sends a due daily
// prompt with its buttons; every other due event passes in silence.
package fallback

import (
	"regexp"
	"strings"

	"promptpipe/delivery/internal/agent"
)

// State is the sub-state the responder reports: it keeps none, and says so, which also
// keeps its turns apart in the state distribution (promptpipe_agent_request_total).
const State = "FALLBACK"

// Texts the responder says.
const (
	DoneReply     = "Nice work, that counts! Your coach is away for a moment and will be back soon."
	NextTimeReply = "No problem, tomorrow is another chance. Your coach is away for a moment and will be back soon."
	Acknowledge   = "Thanks for your message! Your coach is taking a short break and will answer properly soon. " +
		"If you are answering today's habit prompt, tap Done or Next time."
	DailyPrompt = "Time for today's habit! Tap Done when you have done it, or Next time if today does not work."
	// PromptTemplate is the approved template the agent's daily prompt falls back to
	// outside WhatsApp's 24-hour window; its parameters are a name and the habit.
	PromptTemplate = "daily_prompt_reminder"
)

// The buttons of a daily prompt, with the agent's ids so a tap reads the same to both.
var (
	Done     = agent.Button{ID: "done", Title: "Done"}
	NextTime = agent.Button{ID: "next_time", Title: "Next time"}
)

var (
	doneWords     = regexp.MustCompile(`^(done|did it|i did it|i did|completed|finished|yes|yep|✅|👍)$`)
	nextTimeWords = regexp.MustCompile(`^(next time|not today|skip|skipped|later|no|nope)$`)
	stopWords     = regexp.MustCompile(`^(stop|unsubscribe|quit|opt out|cancel)$`)
	punctuation   = regexp.MustCompile(`[.!?,;:]+`)
)

// What a participant's whole message says, as Answer reads it.
const (
	AnswerDone     = "done"
	AnswerNextTime = "next_time"
	AnswerStop     = "stop"  // asks to stop: an opt-out
	AnswerOther    = "other" // anything else
)

// Answer reads a message as a daily prompt's answer (Done, Next time), an opt-out, or
// other: the responder's replies and the satisfaction figures (package arms) rest on it.
func Answer(message string) string {
	switch said := normalize(message); {
	case doneWords.MatchString(said):
		return AnswerDone
	case nextTimeWords.MatchString(said):
		return AnswerNextTime
	case stopWords.MatchString(said):
		return AnswerStop
	}
	return AnswerOther
}

// Responder is the fallback flow. The zero value is ready.
type Responder struct{}

// Message answers a participant's message.
func (Responder) Message(req agent.ProcessMessageRequest) agent.ProcessMessageResponse {
	text := Acknowledge
	switch Answer(req.Message) {
	case AnswerDone:
		text = DoneReply
	case AnswerNextTime:
		text = NextTimeReply
	}
	return agent.ProcessMessageResponse{Response: text, State: State, Metadata: metadata(req.ParticipantID)}
}

// Event answers a due event: a daily prompt goes out with its buttons (and the approved
// template for a silent participant); anything else says nothing.
func (Responder) Event(req agent.ProcessEventRequest) agent.ProcessMessageResponse {
	resp := agent.ProcessMessageResponse{State: State, Metadata: metadata(req.ParticipantID)}
	if req.Kind == "daily_prompt" {
		resp.Response = DailyPrompt
		resp.Buttons = []agent.Button{Done, NextTime}
		resp.Template = &agent.Template{Name: PromptTemplate, Parameters: []string{"there", "your daily habit"}}
	}
	return resp
}

func normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = punctuation.ReplaceAllString(s, "")
	return strings.Join(strings.Fields(s), " ")
}

func metadata(participantID string) map[string]any {
	return map[string]any{"participant_id": participantID, "responder": "delivery fallback"}
}
