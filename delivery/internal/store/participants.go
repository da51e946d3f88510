package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Participant is someone enrolled in the coaching conversation.
type Participant struct {
	ID          string    `json:"id"`
	PhoneNumber string    `json:"phone_number"`
	Name        string    `json:"name,omitempty"`
	Gender      string    `json:"gender,omitempty"`
	Ethnicity   string    `json:"ethnicity,omitempty"`
	Background  string    `json:"background,omitempty"`
	Timezone    string    `json:"timezone,omitempty"`
	Status      string    `json:"status"`
	EnrolledAt  time.Time `json:"enrolled_at"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Participant statuses; only active participants are routed to the agent.
const (
	StatusActive    = "active"
	StatusPaused    = "paused"
	StatusCompleted = "completed"
	StatusWithdrawn = "withdrawn"
)

const participantColumns = `id, phone_number, name, gender, ethnicity, background, timezone,
	status, enrolled_at, created_at, updated_at`

func scanParticipant(row pgx.Row) (*Participant, error) {
	var p Participant
	err := row.Scan(&p.ID, &p.PhoneNumber, &p.Name, &p.Gender, &p.Ethnicity, &p.Background,
		&p.Timezone, &p.Status, &p.EnrolledAt, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &p, err
}

// NewParticipantID returns "p_" and 32 hex digits, PromptPipe's id format.
func NewParticipantID() string { return newID("p_") }

// CreateParticipant inserts p; ErrConflict when the phone number is already enrolled.
func (s *Store) CreateParticipant(ctx context.Context, p *Participant) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO participants (`+participantColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ID, p.PhoneNumber, p.Name, p.Gender, p.Ethnicity, p.Background, p.Timezone,
		p.Status, p.EnrolledAt, p.CreatedAt, p.UpdatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("inserting participant: %w", err)
	}
	return nil
}

// ListParticipants returns everyone, newest first.
func (s *Store) ListParticipants(ctx context.Context) ([]Participant, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+participantColumns+` FROM participants ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("listing participants: %w", err)
	}
	defer rows.Close()
	out := []Participant{}
	for rows.Next() {
		p, err := scanParticipant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// GetParticipant looks a participant up by id.
func (s *Store) GetParticipant(ctx context.Context, id string) (*Participant, error) {
	return scanParticipant(s.Pool.QueryRow(ctx, `SELECT `+participantColumns+` FROM participants WHERE id = $1`, id))
}

// UpdateParticipant writes every mutable field of p and bumps updated_at.
func (s *Store) UpdateParticipant(ctx context.Context, p *Participant) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE participants SET name = $2, gender = $3, ethnicity = $4,
		background = $5, timezone = $6, status = $7, updated_at = $8 WHERE id = $1`,
		p.ID, p.Name, p.Gender, p.Ethnicity, p.Background, p.Timezone, p.Status, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("updating participant: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteParticipant removes a participant and cancels their pending jobs in the same
// transaction, so a deleted participant gets nothing more. Their message log stays.
func (s *Store) DeleteParticipant(ctx context.Context, id string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM participants WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("deleting participant: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if err := cancelJobs(ctx, tx, `participant_id = $1`, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
}

// CountActive counts participants with status active.
func (s *Store) CountActive(ctx context.Context) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM participants WHERE status = 'active'`).Scan(&n)
	return n, err
}

// querier is a transaction or the pool.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// participantWhere looks a participant up by "id" or "phone_number"; nil, not an error,
// when there is none (an unknown sender, or one deleted meanwhile).
func participantWhere(ctx context.Context, db querier, column, value string) (*Participant, error) {
	p, err := scanParticipant(db.QueryRow(ctx, `SELECT `+participantColumns+` FROM participants WHERE `+column+` = $1`, value))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up participant: %w", err)
	}
	return p, nil
}
