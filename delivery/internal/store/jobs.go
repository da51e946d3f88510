package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	RunAt         time.Time       `json:"-"`
	LocalTime     *string         `json:"local_time,omitempty"`
	Timezone      *string         `json:"timezone,omitempty"`
	DedupeKey     *string         `json:"dedupe_key,omitempty"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastError     *string         `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
}

const jobColumns = `id, COALESCE(participant_id, ''), type, kind, payload, occurrence_at, run_at, local_time, timezone,
	dedupe_key, status, attempts, last_error, created_at`

func scanJob(row pgx.Row) (*Job, error) {
	var j Job
	err := row.Scan(&j.ID, &j.ParticipantID, &j.Type, &j.Kind, &j.Payload, &j.OccurrenceAt, &j.RunAt,
		&j.LocalTime, &j.Timezone, &j.DedupeKey, &j.Status, &j.Attempts, &j.LastError, &j.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &j, err
}

// CreateJob inserts a pending job. An event whose dedupe key is already pending returns
// the existing job and created=false: asking twice schedules once.
func (s *Store) CreateJob(ctx context.Context, j *Job) (job *Job, created bool, err error) {
	if len(j.Payload) == 0 {
		j.Payload = json.RawMessage("{}")
	}
	row := s.Pool.QueryRow(ctx, `INSERT INTO jobs (id, participant_id, type, kind, payload, occurrence_at, run_at,
			local_time, timezone, dedupe_key, status)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, 'pending') RETURNING `+jobColumns,
		newID("job_"), nullIfEmpty(j.ParticipantID), j.Type, j.Kind, j.Payload, j.OccurrenceAt, j.LocalTime, j.Timezone, j.DedupeKey)
	job, err = scanJob(row)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && j.DedupeKey != nil {
		job, err = scanJob(s.Pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs
			WHERE participant_id = $1 AND dedupe_key = $2 AND status = 'pending'`, j.ParticipantID, *j.DedupeKey))
		return job, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("inserting job: %w", err)
	}
	return job, true, nil
}

// ListPendingJobs returns pending jobs, soonest first: of one participant ("" for
// everyone's) and of one type ("" for both).
func (s *Store) ListPendingJobs(ctx context.Context, participantID, jobType string) ([]Job, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE ($1 = '' OR participant_id = $1) AND status = 'pending' AND ($2 = '' OR type = $2)
		ORDER BY occurrence_at, id`, participantID, jobType)
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
// being fired right now counts as gone: waiting for it could deadlock with the agent,
// whose turn (holding the participant) may be what asked for the cancel, and the agent
// already tolerates an event that fires anyway.
func (s *Store) CancelJob(ctx context.Context, participantID, jobType, id string) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE jobs SET status = 'canceled', updated_at = now()
		WHERE id = (SELECT id FROM jobs WHERE id = $1 AND participant_id = $2 AND type = $3
			AND status = 'pending' FOR UPDATE SKIP LOCKED)`, id, participantID, jobType)
	if err != nil {
		return fmt.Errorf("canceling job: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DueJob is a claimed job with the participant it belongs to (nil if deleted).
type DueJob struct {
	Job         Job
	Participant *Participant
}

// WithNextDueJob claims the earliest pending job due at `now` and calls fn inside the
// claiming transaction; fn settles it with SettleJob. Returns false when nothing is due.
func (s *Store) WithNextDueJob(ctx context.Context, now time.Time, fn func(tx pgx.Tx, d DueJob) error) (bool, error) {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("beginning job claim: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	j, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE status = 'pending' AND run_at <= $1
		ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, now))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claiming job: %w", err)
	}
	d := DueJob{Job: *j}
	if d.Participant, err = participantWhere(ctx, tx, "id", j.ParticipantID); err != nil {
		return true, err
	}
	if err := fn(tx, d); err != nil {
		return true, err
	}
	if err := tx.Commit(ctx); err != nil {
		return true, fmt.Errorf("committing job: %w", err)
	}
	return true, nil
}

// JobOutcome says what becomes of a job after an attempt.
type JobOutcome struct {
	Status       string    // pending (again), done, failed
	OccurrenceAt time.Time // next occurrence when a schedule stays pending
	RunAt        time.Time // next attempt
	Attempts     int
	Error        string
}

// SettleJob records the outcome of an attempt, inside the claim's transaction.
func SettleJob(ctx context.Context, tx pgx.Tx, id string, o JobOutcome) error {
	var lastErr *string
	if o.Error != "" {
		lastErr = &o.Error
	}
	_, err := tx.Exec(ctx, `UPDATE jobs SET status = $2, occurrence_at = $3, run_at = $4, attempts = $5,
		last_error = $6, updated_at = now() WHERE id = $1`, id, o.Status, o.OccurrenceAt, o.RunAt, o.Attempts, lastErr)
	if err != nil {
		return fmt.Errorf("settling job: %w", err)
	}
	return nil
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
	err := s.Pool.QueryRow(ctx, `SELECT min(run_at) FROM jobs WHERE status = 'pending' AND run_at <= $1`, upTo).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, false, err
	}
	return *at, true, nil
}

// Settled tells whether nothing is due at `now`: no job left to fire and no outbound
// message waiting for its first send. Time travel waits for it between steps.
func (s *Store) Settled(ctx context.Context, now time.Time) (bool, error) {
	var busy bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND run_at <= $1)
		OR EXISTS (SELECT 1 FROM tasks WHERE kind = $2 AND state <> 'failed'
			AND (attempt = 0 OR (state = 'leased' AND attempt = 1)))`, now, TaskSend).Scan(&busy)
	return !busy, err
}
