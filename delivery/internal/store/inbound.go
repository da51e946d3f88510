package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

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
		// The lane first: two messages of one phone arriving together then get their ids
		// in the order of their answers, so the log, the agent's history and the lane agree.
		if err := queue.LockLane(ctx, tx, inboundLane(m.Phone)); err != nil {
			return fmt.Errorf("locking the phone's lane: %w", err)
		}
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

// Inbound message statuses: received, then done once answered. A message answered with
// the apology because the agent could not be reached is awaiting_agent until the agent
// has had it (a replay, or the answer of the phone's next message, hands it over).
const (
	InboundReceived      = "received"
	InboundDone          = "done"
	InboundAwaitingAgent = "awaiting_agent"
)

// InboundWork is an inbound message to answer, with the participant its phone belongs to
// now.
type InboundWork struct {
	MessageID   int64
	Wamid       string
	Phone       string
	Body        string
	Status      string
	Participant *Participant // nil for an unknown sender; only its id, phone, name, timezone and status are read
}

// InboundWork reads the message an answer task is about; ErrNotFound if it is gone.
func (s *Store) InboundWork(ctx context.Context, messageID int64) (InboundWork, error) {
	w := InboundWork{MessageID: messageID}
	var p Participant
	var pid *string
	err := s.Pool.QueryRow(ctx, `SELECT m.wamid, m.phone, m.body, m.status, p.id, COALESCE(p.phone_number, ''), COALESCE(p.name, ''),
			COALESCE(p.timezone, ''), COALESCE(p.status, '')
		FROM messages m LEFT JOIN participants p ON p.phone_number = m.phone
		WHERE m.id = $1 AND m.direction = 'inbound'`, messageID).
		Scan(&w.Wamid, &w.Phone, &w.Body, &w.Status, &pid, &p.PhoneNumber, &p.Name, &p.Timezone, &p.Status)
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
	b.Queue(`UPDATE messages SET status = $2, updated_at = now() WHERE id = $1`, messageID, InboundDone)
	return settleBatch(ctx, s, b, "settling an answer")
}

// AnswerWithApology settles an answer task whose message the agent could not take: it
// queues the apology, keeps the message awaiting the agent, and queues the task that
// hands it to the agent (due at replayAt, in delivery's clock), in one transaction and
// only under the task's lease.
func (s *Store) AnswerWithApology(ctx context.Context, t queue.Task, m InboundWork, apology Outbound, replayAt time.Time) error {
	b := &pgx.Batch{}
	// Lanes are locked in one order everywhere (inbound, replay, outbound), so that this
	// settle and a replay's, each holding one lane, never wait on each other.
	queue.QueueComplete(b, t)
	b.Queue(`UPDATE messages SET status = $2, updated_at = now() WHERE id = $1`, m.MessageID, InboundAwaitingAgent)
	queue.QueueEnqueue(b, queue.New{Kind: TaskReplay, Ref: strconv.FormatInt(m.MessageID, 10),
		Lane: replayLane(m.Phone), RunAt: replayAt})
	if err := queueReply(b, apology); err != nil {
		return err
	}
	return settleBatch(ctx, s, b, "settling an apology")
}

// KeptTurn is a message answered with the apology that the agent has not had yet.
type KeptTurn struct {
	MessageID int64
	Wamid     string
	Body      string
}

// AgentBacklog returns the phone's messages awaiting the agent, oldest first, up to and
// including message upTo. All of them: the agent must see them in order, and they are
// only what one person wrote while the agent was away.
func (s *Store) AgentBacklog(ctx context.Context, phone string, upTo int64) ([]KeptTurn, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, wamid, body FROM messages
		WHERE phone = $1 AND direction = 'inbound' AND status = 'awaiting_agent' AND id <= $2 ORDER BY id`,
		phone, upTo) // the status literal, so that the plan can use the partial index
	if err != nil {
		return nil, fmt.Errorf("reading the agent's backlog: %w", err)
	}
	turns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[KeptTurn])
	if err != nil {
		return nil, fmt.Errorf("reading the agent's backlog: %w", err)
	}
	return turns, nil
}

// HandedToAgent records that the agent has had a kept message. It needs no lease: the
// agent having answered is a fact whoever asked, and the next asker is answered from the
// agent's record.
func (s *Store) HandedToAgent(ctx context.Context, messageID int64) error {
	_, err := s.Pool.Exec(ctx, `UPDATE messages SET status = $2, updated_at = now()
		WHERE id = $1 AND status = $3`, messageID, InboundDone, InboundAwaitingAgent)
	if err != nil {
		return fmt.Errorf("marking a kept message handed to the agent: %w", err)
	}
	return nil
}

// Since tells whether the phone has written after this message, and how long ago (in
// real time) delivery received it.
func (s *Store) Since(ctx context.Context, messageID int64) (newer bool, age time.Duration, err error) {
	var ms int64
	err = s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages n WHERE n.phone = m.phone
			AND n.direction = 'inbound' AND n.id > m.id),
		(extract(epoch FROM now() - m.created_at) * 1000)::bigint
		FROM messages m WHERE m.id = $1`, messageID).Scan(&newer, &ms)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, ErrNotFound
	}
	if err != nil {
		return false, 0, fmt.Errorf("reading what came after a message: %w", err)
	}
	return newer, time.Duration(ms) * time.Millisecond, nil
}

// SettleReplay completes a replay task, with the agent's late answer to send when there
// is one, only under the task's lease.
func (s *Store) SettleReplay(ctx context.Context, t queue.Task, late *Outbound) error {
	b := &pgx.Batch{}
	queue.QueueComplete(b, t)
	if late != nil {
		if err := queueReply(b, *late); err != nil {
			return err
		}
	}
	return settleBatch(ctx, s, b, "settling a replay")
}

// settleBatch runs a settle's statements in one transaction.
func settleBatch(ctx context.Context, s *Store, b *pgx.Batch, what string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
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
