// Package jobs fires due one-shot events and daily schedules: it asks the agent what the
// moment means and queues what the agent says, like any reply. It is the handler of the
// queue's fire tasks, each due at its job's occurrence in delivery's (virtual) time.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/outbox"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// Agent is what firing needs of the agent client.
type Agent interface {
	ProcessEventWithRetry(ctx context.Context, req agent.ProcessEventRequest, maxAttempts int) (*agent.ProcessMessageResponse, error)
}

// Jobs is what firing needs of the store: the job a task is about, and the settle that
// records the occurrence only while the task's lease holds.
type Jobs interface {
	DueJob(ctx context.Context, id string) (store.DueJob, error)
	SettleJob(ctx context.Context, t queue.Task, jobID string, o store.JobOutcome, reply *store.Outbound) error
}

// Firer handles fire tasks.
type Firer struct {
	Jobs          Jobs
	Agent         Agent
	AgentAttempts int
	// Retry is the fire runner's policy: a failed occurrence goes back to the queue until
	// the last attempt, after which an event is failed and a schedule moves on.
	Retry   retry.Policy
	Replied func() // a reply was queued (wakes the outbox)
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Handle fires one due occurrence, with no transaction open while the agent is asked.
// The event id is the job id plus the occurrence time, so an occurrence worked again
// after a crash asks the agent the same question, which it answers once.
func (f *Firer) Handle(ctx context.Context, t queue.Task) error {
	d, err := f.Jobs.DueJob(ctx, t.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return retry.Permanent(fmt.Errorf("fire task for job %s, which does not exist", t.Ref))
	}
	if err != nil {
		return err
	}
	j := d.Job
	log := f.Log.With("job_id", j.ID, "kind", j.Kind, "participant_id", j.ParticipantID, "attempt", t.Attempt)
	if j.Status != "pending" { // canceled after the task was claimed
		return f.settle(ctx, t, j, store.JobOutcome{}, nil)
	}
	outcome := afterOccurrence(j)
	if j.Type == store.JobPrompt {
		return f.firePrompt(ctx, t, j, outcome, log)
	}
	switch {
	case d.Participant == nil:
		// Deleting a participant cancels their jobs; this only happens if one raced it.
		outcome = store.JobOutcome{Status: "canceled", OccurrenceAt: j.OccurrenceAt, Error: "participant deleted"}
		return f.settle(ctx, t, j, outcome, nil)
	case d.Participant.Status != store.StatusActive:
		// Paused (or finished) participants get nothing; a schedule resumes with them.
		log.Info("job skipped", "participant_status", d.Participant.Status)
		outcome.Error = "skipped: participant " + d.Participant.Status
		f.Metrics.JobsFired.WithLabelValues(j.Kind, "skipped").Inc()
		return f.settle(ctx, t, j, outcome, nil)
	}
	resp, err := f.Agent.ProcessEventWithRetry(ctx, agent.ProcessEventRequest{
		ParticipantID: j.ParticipantID,
		PhoneNumber:   "+" + d.Participant.PhoneNumber,
		EventID:       fmt.Sprintf("%s@%s", j.ID, j.OccurrenceAt.UTC().Format(time.RFC3339)),
		Kind:          j.Kind,
		Payload:       j.Payload,
		ScheduledFor:  j.OccurrenceAt,
	}, f.AgentAttempts)
	if err != nil {
		if ctx.Err() != nil || !f.Retry.Last(t.Attempt) {
			f.Metrics.JobsFired.WithLabelValues(j.Kind, "retry").Inc()
			return fmt.Errorf("firing job: %w", err) // the queue waits, then tries again
		}
		log.Error("job failed for good", "error", err)
		f.Metrics.JobsFired.WithLabelValues(j.Kind, "failed").Inc()
		outcome.Error, outcome.Attempts = err.Error(), t.Attempt
		if j.Type == store.JobEvent {
			outcome.Status = "failed"
		}
		return f.settle(ctx, t, j, outcome, nil)
	}
	var reply *store.Outbound
	if strings.TrimSpace(resp.Response) != "" {
		pid := j.ParticipantID
		r := outbox.Reply(d.Participant.PhoneNumber, &pid, *resp)
		reply = &r
	}
	if err := f.settle(ctx, t, j, outcome, reply); err != nil {
		return err
	}
	f.Metrics.JobsFired.WithLabelValues(j.Kind, "fired").Inc()
	log.Info("job fired", "scheduled_for", j.OccurrenceAt, "replied", reply != nil)
	return nil
}

func (f *Firer) settle(ctx context.Context, t queue.Task, j store.Job, o store.JobOutcome, reply *store.Outbound) error {
	if err := f.Jobs.SettleJob(ctx, t, j.ID, o, reply); err != nil {
		return err
	}
	if reply != nil && f.Replied != nil {
		f.Replied()
	}
	return nil
}

// PromptPayload is what a prompt job (PromptPipe's /schedule) carries.
type PromptPayload struct {
	To       string   `json:"to"`
	Text     string   `json:"text"`
	Schedule Calendar `json:"schedule"`
}

// firePrompt sends a /schedule prompt's fixed text; no agent is involved.
func (f *Firer) firePrompt(ctx context.Context, t queue.Task, j store.Job, outcome store.JobOutcome, log *slog.Logger) error {
	var p PromptPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return f.settle(ctx, t, j, store.JobOutcome{Status: "failed", OccurrenceAt: j.OccurrenceAt, Error: "unreadable payload"}, nil)
	}
	reply := store.Outbound{Phone: p.To, Type: "text", Body: p.Text, Payload: whatsapp.TextMessage(p.To, p.Text)}
	if err := f.settle(ctx, t, j, outcome, &reply); err != nil {
		return err
	}
	f.Metrics.JobsFired.WithLabelValues(j.Kind, "fired").Inc()
	log.Info("scheduled prompt sent", "scheduled_for", j.OccurrenceAt)
	return nil
}

// afterOccurrence is a job's state once this occurrence is over: an event is done, a
// schedule waits for the same local time on the next day, a prompt for its next match.
func afterOccurrence(j store.Job) store.JobOutcome {
	if j.Type == store.JobEvent {
		return store.JobOutcome{Status: "done", OccurrenceAt: j.OccurrenceAt}
	}
	if j.Type == store.JobPrompt {
		var p PromptPayload
		next, err := time.Time{}, json.Unmarshal(j.Payload, &p)
		if err == nil {
			next, err = p.Schedule.Next(j.OccurrenceAt)
		}
		if err != nil {
			return store.JobOutcome{Status: "failed", OccurrenceAt: j.OccurrenceAt, Error: err.Error()}
		}
		return store.JobOutcome{Status: "pending", OccurrenceAt: next}
	}
	loc, err := time.LoadLocation(deref(j.Timezone))
	if err != nil {
		loc = time.UTC
	}
	next, err := NextDaily(j.OccurrenceAt, deref(j.LocalTime), loc)
	if err != nil { // validated at creation; a bad row must not fire forever
		return store.JobOutcome{Status: "failed", OccurrenceAt: j.OccurrenceAt, Error: err.Error()}
	}
	return store.JobOutcome{Status: "pending", OccurrenceAt: next}
}

// NextDaily is the first HH:MM in loc strictly after `after`: today's when still ahead
// (PromptPipe never fired the same day), else tomorrow's. Calendar arithmetic keeps the
// local time right across daylight-saving changes.
func NextDaily(after time.Time, hhmm string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return time.Time{}, fmt.Errorf("local time must be HH:MM (24h), got %q", hhmm)
	}
	local := after.In(loc)
	candidate := time.Date(local.Year(), local.Month(), local.Day(), t.Hour(), t.Minute(), 0, 0, loc)
	if !candidate.After(after) {
		candidate = time.Date(local.Year(), local.Month(), local.Day()+1, t.Hour(), t.Minute(), 0, 0, loc)
	}
	return candidate.UTC(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
