package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"promptpipe/delivery/internal/queue"
)

// Job types.
const (
	JobEvent    = "event"    // fires once
	JobSchedule = "schedule" // fires every day at a local time
	JobPrompt   = "prompt"   // PromptPipe's /schedule: fixed text to a phone, on a calendar schedule
)

// Job is a one-shot event or a daily schedule of one participant.
type Job struct {
	ID            string          `json:"id"`
	ParticipantID string          `json:"participant_id"`
	Type          string          `json:"type"`
	Kind          string          `json:"kind"`
	Payload       json.RawMessage `json:"payload"`
	OccurrenceAt  time.Time       `json:"next_run_at"`
	LocalTime     *string         `json:"local_time,omitempty"`
	Timezone      *string         `json:"timezone,omitempty"`
	DedupeKey     *string         `json:"dedupe_key,omitempty"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastError     *string         `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
}

// jobColumns read a job with the attempts and last error of its current occurrence,
// which its fire task keeps while it is pending (jobs j LEFT JOIN tasks t).
const jobColumns = `j.id, COALESCE(j.participant_id, ''), j.type, j.kind, j.payload, j.occurrence_at, j.local_time,
	j.timezone, j.dedupe_key, j.status, COALESCE(t.attempt, j.attempts), COALESCE(t.last_error, j.last_error), j.created_at`

// jobsWithTasks joins each job to its pending fire task, if any.
const jobsWithTasks = `jobs j LEFT JOIN tasks t ON t.kind = 'fire' AND t.ref = j.id AND t.state <> 'failed'`

func scanJob(row pgx.Row) (*Job, error) {
	var j Job
	err := row.Scan(&j.ID, &j.ParticipantID, &j.Type, &j.Kind, &j.Payload, &j.OccurrenceAt,
		&j.LocalTime, &j.Timezone, &j.DedupeKey, &j.Status, &j.Attempts, &j.LastError, &j.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &j, err
}

// CreateJob inserts a pending job and the task that fires it at its first occurrence.
// An event whose dedupe key is already pending returns the existing job and
// created=false: asking twice schedules once.
func (s *Store) CreateJob(ctx context.Context, j *Job) (job *Job, created bool, err error) {
	if len(j.Payload) == 0 {
		j.Payload = json.RawMessage("{}")
	}
	id := newID("job_")
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO jobs (id, participant_id, type, kind, payload, occurrence_at,
				local_time, timezone, dedupe_key, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')`,
			id, nullIfEmpty(j.ParticipantID), j.Type, j.Kind, j.Payload, j.OccurrenceAt, j.LocalTime, j.Timezone, j.DedupeKey)
		if err != nil {
			return err
		}
		return queue.Enqueue(ctx, tx, queue.New{Kind: TaskFire, Ref: id, RunAt: j.OccurrenceAt})
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && j.DedupeKey != nil {
		job, err = scanJob(s.Pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM `+jobsWithTasks+`
			WHERE j.participant_id = $1 AND j.dedupe_key = $2 AND j.status = 'pending'`, j.ParticipantID, *j.DedupeKey))
		return job, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("inserting job: %w", err)
	}
	job, err = s.GetJob(ctx, id)
	return job, err == nil, err
}

// ListPendingJobs returns pending jobs, soonest first: of one participant ("" for
// everyone's) and of one type ("" for both).
func (s *Store) ListPendingJobs(ctx context.Context, participantID, jobType string) ([]Job, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+jobColumns+` FROM `+jobsWithTasks+`
		WHERE ($1 = '' OR j.participant_id = $1) AND j.status = 'pending' AND ($2 = '' OR j.type = $2)
		ORDER BY j.occurrence_at, j.id`, participantID, jobType)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *j)
	}
	return out, rows.Err()
}

// CancelJob cancels one pending job of a participant; ErrNotFound if there is none. A job
// being fired right now is canceled too: the reply already on its way still goes out,
// but a schedule does not come back (its settle finds the job canceled).
func (s *Store) CancelJob(ctx context.Context, participantID, jobType, id string) error {
	return cancelJobs(ctx, s.Pool, `id = $1 AND participant_id = $2 AND type = $3`, id, participantID, jobType)
}

// cancelJobs cancels the pending jobs `where` selects (on jobs) and removes their fire
// tasks that are not being worked on; ErrNotFound if there were none.
func cancelJobs(ctx context.Context, db querier, where string, args ...any) error {
	var n int
	err := db.QueryRow(ctx, `WITH canceled AS (
			UPDATE jobs SET status = 'canceled', updated_at = now() WHERE `+where+` AND status = 'pending' RETURNING id),
		removed AS (
			DELETE FROM tasks WHERE kind = 'fire' AND state <> 'leased' AND ref IN (SELECT id FROM canceled))
		SELECT count(*) FROM canceled`, args...).Scan(&n)
	if err != nil {
		return fmt.Errorf("canceling jobs: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DueJob is a job whose occurrence is due, with the participant it belongs to (nil if
// deleted).
type DueJob struct {
	Job         Job
	Participant *Participant
}

// DueJob reads the job a fire task is about; ErrNotFound if there is no such job.
func (s *Store) DueJob(ctx context.Context, id string) (DueJob, error) {
	j, err := s.GetJob(ctx, id)
	if err != nil {
		return DueJob{}, err
	}
	d := DueJob{Job: *j}
	if j.ParticipantID != "" {
		d.Participant, err = participantWhere(ctx, s.Pool, "id", j.ParticipantID)
	}
	return d, err
}

// JobOutcome says what becomes of a job after an occurrence.
type JobOutcome struct {
	Status       string    // pending (again, for the next occurrence), done, canceled, failed; "" leaves the job as it is
	OccurrenceAt time.Time // the next occurrence when the job stays pending
	Attempts     int
	Error        string
}

// SettleJob settles a fire task, only under its lease (else queue.ErrLeaseLost and
// nothing changes): it queues the reply if there is one, records the outcome on a job
// that is still pending, and queues the task of its next occurrence if it has one.
func (s *Store) SettleJob(ctx context.Context, t queue.Task, jobID string, o JobOutcome, reply *Outbound) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queue.QueueComplete(b, t)
		if reply != nil {
			if err := queueReply(b, *reply); err != nil {
				return err
			}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("settling a job: %w", err)
		}
		if o.Status == "" {
			return nil
		}
		var lastErr *string
		if o.Error != "" {
			lastErr = &o.Error
		}
		tag, err := tx.Exec(ctx, `UPDATE jobs SET status = $2, occurrence_at = $3, attempts = $4, last_error = $5,
			updated_at = now() WHERE id = $1 AND status = 'pending'`, jobID, o.Status, o.OccurrenceAt, o.Attempts, lastErr)
		if err != nil {
			return fmt.Errorf("settling job: %w", err)
		}
		if tag.RowsAffected() == 0 || o.Status != "pending" {
			return nil // canceled meanwhile, or over
		}
		return queue.Enqueue(ctx, tx, queue.New{Kind: TaskFire, Ref: jobID, RunAt: o.OccurrenceAt})
	})
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NextDueAt is when the earliest pending job falls due, if that is no later than upTo.
func (s *Store) NextDueAt(ctx context.Context, upTo time.Time) (time.Time, bool, error) {
	var at *time.Time
	err := s.Pool.QueryRow(ctx, `SELECT min(run_at) FROM tasks WHERE kind = $2 AND state <> 'failed' AND run_at <= $1`,
		upTo, TaskFire).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, false, err
	}
	return *at, true, nil
}

// Settled tells whether nothing is due at `now`: no job left to fire and no outbound
// message waiting for its first send. Time travel waits for it between steps.
func (s *Store) Settled(ctx context.Context, now time.Time) (bool, error) {
	var busy bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE kind = $3 AND state <> 'failed' AND run_at <= $1)
		OR EXISTS (SELECT 1 FROM tasks WHERE kind = $2 AND state <> 'failed'
			AND (attempt = 0 OR (state = 'leased' AND attempt = 1)))`, now, TaskSend, TaskFire).Scan(&busy)
	return !busy, err
}
