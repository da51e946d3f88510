// Package queue is delivery's work queue: durable tasks in Postgres, leased to a worker
// for a while, worked with no transaction open, and settled only by the worker whose
// lease still holds. It serves every kind of work (inbound messages, outbound sends,
// due jobs); each kind has a handler. docs/architecture.md tells why it is not River.
//
// The life of a task:
//
//   - Enqueue writes it, usually in the transaction that makes the work necessary. A task
//     behind an unfinished one of its lane (one phone's messages) waits; the others are
//     ready.
//   - Claim leases due ready tasks in one short statement: state leased, lease_owner,
//     lease_until, attempt+1.
//   - The handler makes its network call with no transaction open, then settles in one
//     short transaction that begins with Complete: it deletes the task only if this lease
//     is still the task's (else ErrLeaseLost, and the transaction rolls back), and makes
//     the next task of its lane ready.
//   - A handler's error makes the Runner put the task back (Retry) with a delay from the
//     retry policy, or give up on it (Fail) when the policy's attempts are spent.
//   - A worker that dies leaves its lease to run out; Reap makes the task ready again and
//     anyone claims it. The repeat carries the same idempotency key, so the far side does
//     the work once.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// ErrLeaseLost says a task's lease is no longer the caller's: it ran out and another
// worker took the task (or settled it). The caller's result must be dropped.
var ErrLeaseLost = errors.New("the task's lease was lost")

// Task is one leased piece of work, as its handler receives it.
type Task struct {
	ID        int64
	Kind      string
	Ref       string // what the work is about: a message id, an outbox id, a job id
	Lane      string // "" when the task has no order to keep
	Attempt   int    // 1 on the first lease
	Owner     string // who holds the lease
	LastError string // why the previous attempt failed, if one did
}

// New describes a task to enqueue.
type New struct {
	Kind  string
	Ref   string
	Lane  string    // tasks of one lane run one at a time, oldest first; "" for none
	RunAt time.Time // due from, in delivery's clock; zero: at once
}

// DB is a transaction or a pool: Enqueue and Complete run inside the caller's
// transaction, so a task appears, or goes, with the rows it is about.
type DB interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Enqueue adds a task. A task with a lane must be enqueued in a transaction (see
// QueueEnqueue).
func Enqueue(ctx context.Context, db DB, t New) error {
	b := &pgx.Batch{}
	QueueEnqueue(b, t)
	return db.SendBatch(ctx, b).Close()
}

// Complete deletes a finished task if the caller's lease is still its lease, and makes
// the next task of its lane ready; otherwise it returns ErrLeaseLost, and the caller
// rolls back what it meant to settle with it. db must be a transaction when the task
// has a lane (see QueueComplete).
func Complete(ctx context.Context, db DB, t Task) error {
	b := &pgx.Batch{}
	QueueComplete(b, t)
	return db.SendBatch(ctx, b).Close()
}

// QueueEnqueue adds Enqueue's statements to b, so that a settle can send all of its
// statements in one round trip. With a lane, b must run in a transaction: it locks the
// lane until commit, so that the enqueue and the settle of the lane's current task see
// each other.
func QueueEnqueue(b *pgx.Batch, t New) {
	runAt := pgtype.Timestamptz{Time: t.RunAt, Valid: true}
	if t.RunAt.IsZero() {
		runAt.InfinityModifier = pgtype.NegativeInfinity // due before anything with a time
	}
	if t.Lane == "" {
		b.Queue(`INSERT INTO tasks (kind, ref, run_at) VALUES ($1, $2, $3)`, t.Kind, t.Ref, runAt)
		return
	}
	queueLockLane(b, t.Lane)
	b.Queue(`INSERT INTO tasks (kind, ref, lane, run_at, state) VALUES ($1, $2, $3, $4,
		CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE lane = $3 AND state <> 'failed') THEN 'waiting' ELSE 'ready' END)`,
		t.Kind, t.Ref, t.Lane, runAt)
}

// QueueComplete adds Complete's statements to b; b's results then report ErrLeaseLost
// when the lease is no longer the caller's. The delete's row lock orders it against a
// concurrent claim of the task. With a lane, b must run in a transaction.
func QueueComplete(b *pgx.Batch, t Task) {
	b.Queue(`DELETE FROM tasks WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempt = $3`,
		t.ID, t.Owner, t.Attempt).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return ErrLeaseLost
		}
		return nil
	})
	queueAdvanceLane(b, t.Lane)
}

// LockLane takes, until db's transaction ends, the lock that orders a lane's enqueues and
// settles. A caller that numbers what it enqueues (the message log's ids) takes it before
// numbering, so that its numbers and the lane's order agree.
func LockLane(ctx context.Context, db DB, lane string) error {
	b := &pgx.Batch{}
	queueLockLane(b, lane)
	return db.SendBatch(ctx, b).Close()
}

// queueLockLane serializes, until the transaction ends, everything that decides which
// task of a lane is its head: an enqueue (is there one before me?) and a settle (who is
// next?). Without it an enqueue could see the old head still there, wait behind it, and
// commit only after the settle had looked for whom to make ready.
func queueLockLane(b *pgx.Batch, lane string) {
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 727002))`, lane)
}

// queueAdvanceLane makes the oldest waiting task of a lane ready, once the lane's head
// has finished (completed or failed for good).
func queueAdvanceLane(b *pgx.Batch, lane string) {
	if lane == "" {
		return
	}
	queueLockLane(b, lane)
	b.Queue(`UPDATE tasks SET state = 'ready', updated_at = now() WHERE id = (
		SELECT id FROM tasks WHERE lane = $1 AND state = 'waiting' ORDER BY id LIMIT 1)
		AND NOT EXISTS (SELECT 1 FROM tasks WHERE lane = $1 AND state IN ('ready', 'leased'))`, lane)
}

// NewOwner names this process as a lease holder: host, pid and a random part, so a
// restarted process never mistakes its predecessor's leases for its own.
func NewOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
