package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/whatsapp"
)

// Outbound is a message to send.
type Outbound struct {
	Phone         string
	ParticipantID *string
	Type          string         // "text" or "interactive"
	Body          string         // what the log shows
	Payload       map[string]any // the Graph API request body
	// Fallback, when set, replaces the configured re-engagement template if WhatsApp
	// refuses this message because the 24-hour window is closed.
	Fallback *whatsapp.Template
	// Arm is the agent that wrote it (primary, candidate, fallback); "" for none.
	Arm string
}

// queueReply adds to b the statements that log an outbound message, put it in the
// outbox and queue the task that sends it (b must run in a transaction). The outbox row
// id is the send's Idempotency-Key.
func queueReply(b *pgx.Batch, o Outbound) error {
	payload, err := json.Marshal(o.Payload)
	if err != nil {
		return fmt.Errorf("encoding outbound payload: %w", err)
	}
	id := newID("ob_")
	b.Queue(`WITH m AS (
			INSERT INTO messages (direction, phone, participant_id, type, body, status, fallback_template, arm)
			VALUES ('outbound', $1, $2, $3, $4, 'queued', $5, NULLIF($8, '')) RETURNING id)
		INSERT INTO outbox (id, message_id, phone, payload, status) SELECT $6, m.id, $1, $7, 'queued' FROM m`,
		o.Phone, o.ParticipantID, o.Type, o.Body, o.Fallback, id, payload, o.Arm)
	queue.QueueEnqueue(b, queue.New{Kind: TaskSend, Ref: id, Lane: outboundLane(o.Phone)})
	return nil
}

// queueSend puts a logged outbound message in the outbox, with the task that sends it.
func queueSend(ctx context.Context, tx pgx.Tx, msgID int64, phone string, payload map[string]any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encoding outbound payload: %w", err)
	}
	id := newID("ob_")
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO outbox (id, message_id, phone, payload, status) VALUES ($1, $2, $3, $4, 'queued')`,
		id, msgID, phone, body)
	queue.QueueEnqueue(b, queue.New{Kind: TaskSend, Ref: id, Lane: outboundLane(phone)})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("queueing outbound message: %w", err)
	}
	return nil
}

// OutboxItem is an outbox row to send.
type OutboxItem struct {
	ID        string
	MessageID int64
	Phone     string
	Payload   []byte
}

// OutboxItem reads the row a send task is about; ErrNotFound if there is none to send.
func (s *Store) OutboxItem(ctx context.Context, id string) (OutboxItem, error) {
	it := OutboxItem{ID: id}
	err := s.Pool.QueryRow(ctx, `SELECT message_id, phone, payload FROM outbox WHERE id = $1 AND status = 'queued'`, id).
		Scan(&it.MessageID, &it.Phone, &it.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return it, ErrNotFound
	}
	if err != nil {
		return it, fmt.Errorf("reading outbox row: %w", err)
	}
	return it, nil
}

// MarkOutboxSent settles a send task that WhatsApp accepted: the row is sent, the
// message gets its wamid and any status that arrived for it first. Only under the task's
// lease (else queue.ErrLeaseLost and nothing changes).
func (s *Store) MarkOutboxSent(ctx context.Context, t queue.Task, it OutboxItem, wamid string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockWamid, wamid) // before the wamid is written: see lockWamid
		queue.QueueComplete(b, t)
		b.Queue(`UPDATE outbox SET status = 'sent', attempts = $2, updated_at = now() WHERE id = $1`, it.ID, t.Attempt)
		b.Queue(`UPDATE messages SET wamid = $2, status = 'sent', updated_at = now() WHERE id = $1`, it.MessageID, wamid)
		failed := queueApplyStatuses(b, wamid)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("settling a send: %w", err)
		}
		if *failed != 0 {
			return queueReengage(ctx, tx, *failed)
		}
		return nil
	})
}

// MarkOutboxFailed settles a send task that no retry can fix: the row and its message
// are failed, and the task of finding a replacement is queued. Only under the task's
// lease.
func (s *Store) MarkOutboxFailed(ctx context.Context, t queue.Task, it OutboxItem, cause error, code *int) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queue.QueueComplete(b, t)
		b.Queue(`UPDATE outbox SET status = 'failed', attempts = $2, last_error = $3, updated_at = now() WHERE id = $1`,
			it.ID, t.Attempt, cause.Error())
		b.Queue(`UPDATE messages SET status = 'failed', error_code = $2, error_title = $3, updated_at = now() WHERE id = $1`,
			it.MessageID, code, cause.Error())
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("settling a failed send: %w", err)
		}
		return queueReengage(ctx, tx, it.MessageID)
	})
}

// CompleteTask settles a task that needs nothing written (its row is gone or done).
func (s *Store) CompleteTask(ctx context.Context, t queue.Task) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return queue.Complete(ctx, tx, t) })
}
