package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/whatsapp"
)

// Message is one entry of the message log.
type Message struct {
	ID            int64     `json:"id"`
	Wamid         *string   `json:"wamid"`
	Direction     string    `json:"direction"`
	Phone         string    `json:"phone_number"`
	ParticipantID *string   `json:"participant_id"`
	Type          string    `json:"type"`
	Body          string    `json:"body"`
	Status        string    `json:"status"`
	ErrorCode     *int      `json:"error_code,omitempty"`
	ErrorTitle    *string   `json:"error_title,omitempty"`
	Arm           *string   `json:"arm,omitempty"` // the agent arm that wrote a reply
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// statusRank orders outbound statuses so a late "delivered" never overwrites "read".
const statusRank = `CASE %s WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2
	WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE -1 END`

// lockWamid serializes, per wamid, the two transactions that meet on it: a status
// webhook (RecordStatus) and the send that learns the wamid (MarkOutboxSent). Without it,
// under READ COMMITTED, each could miss the other's uncommitted write (the status finds
// no message with that wamid yet; the send's look at status_events predates the status)
// and a "failed" would never be applied, nor its replacement sent. The seed keeps these
// keys apart from the queue's lane locks.
const lockWamid = `SELECT pg_advisory_xact_lock(hashtextextended($1, 131047))`

// RecordStatus keeps a status webhook and moves the message forward if it is known yet;
// otherwise MarkOutboxSent applies it when the wamid arrives.
func (s *Store) RecordStatus(ctx context.Context, wamid, status string, at time.Time, errCode *int, errTitle *string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockWamid, wamid); err != nil {
			return fmt.Errorf("locking the wamid: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO status_events (wamid, status, occurred_at, error_code, error_title)
			VALUES ($1, $2, $3, $4, $5)`, wamid, status, at, errCode, errTitle); err != nil {
			return fmt.Errorf("recording status: %w", err)
		}
		return applyStatuses(ctx, tx, wamid)
	})
}

// applyStatuses sets an outbound message's status to the most advanced one received;
// when that makes it failed, the task of finding it a replacement is queued with it.
func applyStatuses(ctx context.Context, tx pgx.Tx, wamid string) error {
	b := &pgx.Batch{}
	failed := queueApplyStatuses(b, wamid)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if *failed != 0 {
		return queueReengage(ctx, tx, *failed)
	}
	return nil
}

// queueApplyStatuses adds applyStatuses's update to b; once b has run, the returned
// value is the id of a message the update made failed, or 0.
func queueApplyStatuses(b *pgx.Batch, wamid string) *int64 {
	failed := new(int64)
	b.Queue(fmt.Sprintf(`UPDATE messages m SET status = e.status,
			error_code = COALESCE(e.error_code, m.error_code),
			error_title = COALESCE(e.error_title, m.error_title), updated_at = now()
		FROM (SELECT status, error_code, error_title FROM status_events WHERE wamid = $1
		      ORDER BY %s DESC, id LIMIT 1) e
		WHERE m.wamid = $1 AND m.direction = 'outbound' AND %s > %s
		RETURNING m.id, m.status`,
		fmt.Sprintf(statusRank, "status"), fmt.Sprintf(statusRank, "e.status"), fmt.Sprintf(statusRank, "m.status")), wamid).
		QueryRow(func(row pgx.Row) error {
			var id int64
			var status string
			err := row.Scan(&id, &status)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // not sent yet, or nothing new
			}
			if err != nil {
				return fmt.Errorf("applying statuses: %w", err)
			}
			if status == "failed" {
				*failed = id
			}
			return nil
		})
	return failed
}

// queueReengage queues the task that decides what to send in place of a failed
// outbound message (package outbox: a template when the 24-hour window had closed).
func queueReengage(ctx context.Context, tx pgx.Tx, messageID int64) error {
	return queue.Enqueue(ctx, tx, queue.New{Kind: TaskReengage, Ref: strconv.FormatInt(messageID, 10)})
}

// FailedMessage is an outbound message WhatsApp refused, as a reengage task sees it.
type FailedMessage struct {
	ID            int64
	Phone         string
	ParticipantID *string
	Type          string
	ErrorCode     *int
	// Fallback is the template the agent named to send instead, if it named one.
	Fallback *whatsapp.Template
}

// FailedMessage reads the message a reengage task is about; ErrNotFound if there is none.
func (s *Store) FailedMessage(ctx context.Context, id int64) (FailedMessage, error) {
	m := FailedMessage{ID: id}
	err := s.Pool.QueryRow(ctx, `SELECT phone, participant_id, type, error_code, fallback_template FROM messages
		WHERE id = $1 AND direction = 'outbound' AND status = 'failed'`, id).
		Scan(&m.Phone, &m.ParticipantID, &m.Type, &m.ErrorCode, &m.Fallback)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("reading failed message: %w", err)
	}
	return m, nil
}

// QueueReplacement settles a reengage task by queueing o in place of the refused
// message, once per refused message (a repeated failure queues nothing more), only under
// the task's lease.
func (s *Store) QueueReplacement(ctx context.Context, t queue.Task, refusedID int64, o Outbound) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := queue.Complete(ctx, tx, t); err != nil {
			return err
		}
		var msgID int64
		err := tx.QueryRow(ctx, `INSERT INTO messages (direction, phone, participant_id, type, body, status, fallback_for)
			VALUES ('outbound', $1, $2, $3, $4, 'queued', $5) ON CONFLICT (fallback_for) DO NOTHING RETURNING id`,
			o.Phone, o.ParticipantID, o.Type, o.Body, refusedID).Scan(&msgID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // already queued for an earlier copy of the failure
		}
		if err != nil {
			return fmt.Errorf("queueing replacement: %w", err)
		}
		return queueSend(ctx, tx, msgID, o.Phone, o.Payload)
	})
}

// ListMessages returns a participant's message log, oldest first.
func (s *Store) ListMessages(ctx context.Context, participantID string) ([]Message, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, wamid, direction, phone, participant_id, type, body, status,
		error_code, error_title, arm, created_at, updated_at FROM messages WHERE participant_id = $1 ORDER BY id`, participantID)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.Wamid, &m.Direction, &m.Phone, &m.ParticipantID, &m.Type, &m.Body,
			&m.Status, &m.ErrorCode, &m.ErrorTitle, &m.Arm, &m.CreatedAt, &m.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
