// Package jobs fires due one-shot events and daily schedules: it asks the agent what the
// moment means and queues what the agent says, like any reply.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/inbound"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// Agent is what the runner needs of the agent client.
type Agent interface {
	ProcessEventWithRetry(ctx context.Context, req agent.ProcessEventRequest, maxAttempts int) (*agent.ProcessMessageResponse, error)
}

// Runner fires due jobs, one at a time, in order of due time.
type Runner struct {
	Store         *store.Store
	Agent         Agent
	AgentAttempts int
	Now           func() time.Time
	Wake          inbound.Signal // the clock moved or a job was created
	OutboxWake    interface{ Wake() }
	Metrics       *metrics.Metrics
	Log           *slog.Logger
	PollInterval  time.Duration
	// Retry bounds the attempts at one occurrence (a schedule then moves on to its next
	// one) and spaces them.
	Retry retry.Policy
}

// Run fires jobs until ctx is done.
func (r *Runner) Run(ctx context.Context) {
	for ctx.Err() == nil {
		found, err := r.Store.WithNextDueJob(ctx, r.Now(), r.fire)
		if err != nil && ctx.Err() == nil {
			r.Log.Error("firing job", "error", err)
			inbound.Signal(nil).Sleep(ctx, time.Second)
			continue
		}
		if !found {
			r.Wake.Sleep(ctx, r.PollInterval)
		}
	}
}

// fire handles one due occurrence inside the claim's transaction. The event id is the job
// id plus the occurrence time, so a retry after a crash asks the agent the same question.
func (r *Runner) fire(tx pgx.Tx, d store.DueJob) error {
	ctx := context.Background()
	j := d.Job
	log := r.Log.With("job_id", j.ID, "kind", j.Kind, "participant_id", j.ParticipantID)
	outcome := r.afterOccurrence(j)
	if j.Type == store.JobPrompt {
		return r.firePrompt(ctx, tx, j, outcome, log)
	}
	switch {
	case d.Participant == nil:
		// Deleting a participant cancels their jobs; this only happens if one raced it.
		outcome = store.JobOutcome{Status: "canceled", OccurrenceAt: j.OccurrenceAt, RunAt: j.RunAt, Error: "participant deleted"}
	case d.Participant.Status != store.StatusActive:
		// Paused (or finished) participants get nothing; a schedule resumes with them.
		log.Info("job skipped", "participant_status", d.Participant.Status)
		outcome.Error = "skipped: participant " + d.Participant.Status
		r.Metrics.JobsFired.WithLabelValues(j.Kind, "skipped").Inc()
	default:
		resp, err := r.Agent.ProcessEventWithRetry(ctx, agent.ProcessEventRequest{
			ParticipantID: j.ParticipantID,
			PhoneNumber:   "+" + d.Participant.PhoneNumber,
			EventID:       fmt.Sprintf("%s@%s", j.ID, j.OccurrenceAt.UTC().Format(time.RFC3339)),
			Kind:          j.Kind,
			Payload:       j.Payload,
			ScheduledFor:  j.OccurrenceAt,
		}, r.AgentAttempts)
		if err != nil {
			if !r.Retry.Last(j.Attempts + 1) {
				log.Warn("job failed, will retry", "attempt", j.Attempts+1, "error", err)
				r.Metrics.JobsFired.WithLabelValues(j.Kind, "retry").Inc()
				return store.SettleJob(ctx, tx, j.ID, store.JobOutcome{
					Status: "pending", OccurrenceAt: j.OccurrenceAt, RunAt: r.Now().Add(r.Retry.Delay(j.Attempts+1, err)),
					Attempts: j.Attempts + 1, Error: err.Error(),
				})
			}
			log.Error("job failed for good", "error", err)
			r.Metrics.JobsFired.WithLabelValues(j.Kind, "failed").Inc()
			outcome.Error = err.Error()
			if j.Type == store.JobEvent {
				outcome.Status = "failed"
			}
			break
		}
		if strings.TrimSpace(resp.Response) != "" {
			pid := j.ParticipantID
			if err := store.EnqueueReply(ctx, tx, inbound.Reply(d.Participant.PhoneNumber, &pid, *resp)); err != nil {
				return err
			}
			r.OutboxWake.Wake()
		}
		r.Metrics.JobsFired.WithLabelValues(j.Kind, "fired").Inc()
		log.Info("job fired", "scheduled_for", j.OccurrenceAt, "replied", resp.Response != "")
	}
	return store.SettleJob(ctx, tx, j.ID, outcome)
}

// PromptPayload is what a prompt job (PromptPipe's /schedule) carries.
type PromptPayload struct {
	To       string   `json:"to"`
	Text     string   `json:"text"`
	Schedule Calendar `json:"schedule"`
}

// firePrompt sends a /schedule prompt's fixed text; no agent is involved.
func (r *Runner) firePrompt(ctx context.Context, tx pgx.Tx, j store.Job, outcome store.JobOutcome, log *slog.Logger) error {
	var p PromptPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		outcome = store.JobOutcome{Status: "failed", OccurrenceAt: j.OccurrenceAt, RunAt: j.RunAt, Error: "unreadable payload"}
		return store.SettleJob(ctx, tx, j.ID, outcome)
	}
	if err := store.EnqueueReply(ctx, tx, store.Outbound{
		Phone: p.To, Type: "text", Body: p.Text, Payload: whatsapp.TextMessage(p.To, p.Text),
	}); err != nil {
		return err
	}
	r.OutboxWake.Wake()
	r.Metrics.JobsFired.WithLabelValues(j.Kind, "fired").Inc()
	log.Info("scheduled prompt sent", "scheduled_for", j.OccurrenceAt)
	return store.SettleJob(ctx, tx, j.ID, outcome)
}

// afterOccurrence is a job's state once this occurrence is over: an event is done, a
// schedule waits for the same local time on the next day, a prompt for its next match.
func (r *Runner) afterOccurrence(j store.Job) store.JobOutcome {
	if j.Type == store.JobEvent {
		return store.JobOutcome{Status: "done", OccurrenceAt: j.OccurrenceAt, RunAt: j.RunAt}
	}
	if j.Type == store.JobPrompt {
		var p PromptPayload
		next, err := time.Time{}, json.Unmarshal(j.Payload, &p)
		if err == nil {
			next, err = p.Schedule.Next(j.OccurrenceAt)
		}
		if err != nil {
			return store.JobOutcome{Status: "failed", OccurrenceAt: j.OccurrenceAt, RunAt: j.RunAt, Error: err.Error()}
		}
		return store.JobOutcome{Status: "pending", OccurrenceAt: next, RunAt: next}
	}
	loc, err := time.LoadLocation(deref(j.Timezone))
	if err != nil {
		loc = time.UTC
	}
	next, err := NextDaily(j.OccurrenceAt, deref(j.LocalTime), loc)
	if err != nil { // validated at creation; a bad row must not fire forever
		return store.JobOutcome{Status: "failed", OccurrenceAt: j.OccurrenceAt, RunAt: j.RunAt, Error: err.Error()}
	}
	return store.JobOutcome{Status: "pending", OccurrenceAt: next, RunAt: next}
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
