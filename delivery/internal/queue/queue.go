// Package queue is delivery's work queue: durable tasks in Postgres, leased to a worker
// for a while, worked with no transaction open, and settled only by the worker whose
// lease still holds. It serves every kind of work (inbound messages, outbound sends,
// due jobs); each kind has a handler. docs/architecture.md tells why it is not River.
//
// The life of a task:
//
//   - Enqueue writes it, usually in the transaction that makes the work necessary.
//   - Claim leases due tasks in one short statement: state leased, lease_owner, lease_until,
//     attempt+1. A lane (one phone's messages) is leased one task at a time, oldest first.
//   - The handler makes its network call with no transaction open, then settles in one
//     short transaction that begins with Complete: it deletes the task only if this lease
//     is still the task's, else returns ErrLeaseLost and the transaction rolls back.
//   - A handler's error makes the Runner put the task back (Retry) with a delay from the
//     retry policy, or give up on it (Fail) when the policy's attempts are spent.
//   - A worker that dies leaves its lease to run out; then anyone claims the task again.
//     The repeat carries the same idempotency key, so the far side does the work once.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Enqueue adds a task.
func Enqueue(ctx context.Context, db DB, t New) error {
	var lane *string
	if t.Lane != "" {
		lane = &t.Lane
	}
	var err error
	if t.RunAt.IsZero() {
		_, err = db.Exec(ctx, `INSERT INTO tasks (kind, ref, lane) VALUES ($1, $2, $3)`, t.Kind, t.Ref, lane)
	} else {
		_, err = db.Exec(ctx, `INSERT INTO tasks (kind, ref, lane, run_at) VALUES ($1, $2, $3, $4)`, t.Kind, t.Ref, lane, t.RunAt)
	}
	if err != nil {
		return fmt.Errorf("enqueueing %s task: %w", t.Kind, err)
	}
	return nil
}

// Complete deletes a finished task if the caller's lease is still its lease; otherwise
// it returns ErrLeaseLost, and the caller rolls back what it meant to settle with it.
// The row lock it takes orders it against a concurrent claim of the same task.
func Complete(ctx context.Context, db DB, t Task) error {
	tag, err := db.Exec(ctx, `DELETE FROM tasks WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempt = $3`,
		t.ID, t.Owner, t.Attempt)
	if err != nil {
		return fmt.Errorf("completing task: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	return nil
}

// NewOwner names this process as a lease holder: host, pid and a random part, so a
// restarted process never mistakes its predecessor's leases for its own.
func NewOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
