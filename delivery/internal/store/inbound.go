package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/queue"
)

// InboundMessage is what the webhook hands to RecordInbound.
type InboundMessage struct {
	Wamid string
	Phone string
	Type  string
	Body  string
}

// RecordInbound stores an inbound message and queues the task of answering it, in one
// transaction. A wamid seen before changes nothing and returns recorded=false.
func (s *Store) RecordInbound(ctx context.Context, m InboundMessage) (recorded bool, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO messages (wamid, direction, phone, participant_id, type, body, status)
			VALUES ($1, 'inbound', $2, (SELECT id FROM participants WHERE phone_number = $2), $3, $4, 'received')
			ON CONFLICT (wamid) DO NOTHING RETURNING id`, m.Wamid, m.Phone, m.Type, m.Body).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a duplicate delivery of a message we already have
		}
		if err != nil {
			return fmt.Errorf("inserting inbound message: %w", err)
		}
		if err := queue.Enqueue(ctx, tx, queue.New{Kind: TaskAnswer, Ref: strconv.FormatInt(id, 10), Lane: inboundLane(m.Phone)}); err != nil {
			return err
		}
		recorded = true
		return nil
	})
	return recorded, err
}

// InboundWork is an inbound message to answer, with the participant its phone belongs to
// now.
type InboundWork struct {
	MessageID   int64
	Wamid       string
	Phone       string
	Body        string
	Participant *Participant // nil for an unknown sender; only its id, phone, name, timezone and status are read
}

// InboundWork reads the message an answer task is about; ErrNotFound if it is gone.
func (s *Store) InboundWork(ctx context.Context, messageID int64) (InboundWork, error) {
	w := InboundWork{MessageID: messageID}
	var p Participant
	var pid *string
	err := s.Pool.QueryRow(ctx, `SELECT m.wamid, m.phone, m.body, p.id, COALESCE(p.phone_number, ''), COALESCE(p.name, ''),
			COALESCE(p.timezone, ''), COALESCE(p.status, '')
		FROM messages m LEFT JOIN participants p ON p.phone_number = m.phone
		WHERE m.id = $1 AND m.direction = 'inbound'`, messageID).
		Scan(&w.Wamid, &w.Phone, &w.Body, &pid, &p.PhoneNumber, &p.Name, &p.Timezone, &p.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("reading inbound message: %w", err)
	}
	if pid != nil {
		p.ID = *pid
		w.Participant = &p
	}
	return w, nil
}

// AnswerInbound settles an answer task: it queues the reply and marks the message done,
// in one transaction, only if the task's lease still holds (else queue.ErrLeaseLost and
// nothing changes).
func (s *Store) AnswerInbound(ctx context.Context, t queue.Task, messageID int64, reply Outbound) error {
	b := &pgx.Batch{}
	queue.QueueComplete(b, t)
	if err := queueReply(b, reply); err != nil {
		return err
	}
	b.Queue(`UPDATE messages SET status = 'done', updated_at = now() WHERE id = $1`, messageID)
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("settling an answer: %w", err)
		}
		return nil
	})
}

// InboundQueueDepth counts inbound messages not yet answered.
func (s *Store) InboundQueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE kind = $1 AND state <> 'failed'`, TaskAnswer).Scan(&n)
	return n, err
}
