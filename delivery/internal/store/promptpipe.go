package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Receipt is PromptPipe's receipt, plus the message id it was missing.
type Receipt struct {
	To        string `json:"to"`
	Status    string `json:"status"`
	Time      int64  `json:"time"`
	MessageID string `json:"message_id"`
}

// Receipts lists every status WhatsApp reported, oldest first, with the recipient read
// from our own log (canonical digits, whatever the webhook said).
func (s *Store) Receipts(ctx context.Context) ([]Receipt, error) {
	rows, err := s.Pool.Query(ctx, `SELECT COALESCE(m.phone, ''), e.status, e.occurred_at, e.wamid
		FROM status_events e LEFT JOIN messages m ON m.wamid = e.wamid ORDER BY e.id`)
	if err != nil {
		return nil, fmt.Errorf("listing receipts: %w", err)
	}
	defer rows.Close()
	out := []Receipt{}
	for rows.Next() {
		var r Receipt
		var at time.Time
		if err := rows.Scan(&r.To, &r.Status, &at, &r.MessageID); err != nil {
			return nil, err
		}
		r.Time = at.Unix()
		out = append(out, r)
	}
	return out, rows.Err()
}

// Response is PromptPipe's response: what a participant said.
type Response struct {
	From string `json:"from"`
	Body string `json:"body"`
	Time int64  `json:"time"`
}

// RecordResponse stores a response given through the API.
func (s *Store) RecordResponse(ctx context.Context, phone, body string, at time.Time) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO responses (phone, body, received_at) VALUES ($1, $2, $3)`, phone, body, at)
	return err
}

// Responses lists what participants said, through WhatsApp or POST /response, oldest first.
func (s *Store) Responses(ctx context.Context) ([]Response, error) {
	rows, err := s.Pool.Query(ctx, `SELECT phone, body, at FROM (
			SELECT phone, body, created_at AS at FROM messages WHERE direction = 'inbound'
			UNION ALL SELECT phone, body, received_at FROM responses) r ORDER BY at`)
	if err != nil {
		return nil, fmt.Errorf("listing responses: %w", err)
	}
	defer rows.Close()
	out := []Response{}
	for rows.Next() {
		var r Response
		var at time.Time
		if err := rows.Scan(&r.From, &r.Body, &at); err != nil {
			return nil, err
		}
		r.Time = at.Unix()
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetJob looks a job up by id.
func (s *Store) GetJob(ctx context.Context, id string) (*Job, error) {
	return scanJob(s.Pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM `+jobsWithTasks+` WHERE j.id = $1`, id))
}

// CancelJobByID cancels a pending job whoever it belongs to (DELETE /timers/{id}).
func (s *Store) CancelJobByID(ctx context.Context, id string) error {
	return cancelJobs(ctx, s.Pool, `id = $1`, id)
}

// QueueText queues a text message to any phone (PromptPipe's POST /send).
func (s *Store) QueueText(ctx context.Context, o Outbound) error {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	err = tx.QueryRow(ctx, `SELECT id FROM participants WHERE phone_number = $1`, o.Phone).Scan(&o.ParticipantID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("looking up participant: %w", err)
	}
	b := &pgx.Batch{}
	if err := queueReply(b, o); err != nil {
		return err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("queueing text: %w", err)
	}
	return tx.Commit(ctx)
}
