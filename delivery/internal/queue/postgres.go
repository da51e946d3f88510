package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres keeps the tasks in the table "tasks" of the pool's search_path (delivery's
// schema; the table comes with delivery's migrations). Every method is one statement,
// so no transaction outlives it.
type Postgres struct {
	Pool *pgxpool.Pool
}

// claimSQL leases up to $5 ready tasks of one kind whose run_at has come in delivery's
// clock ($2), soonest first. Only a lane's head is ever ready, so a lane never has two
// leases at once. SKIP LOCKED lets concurrent claimers pass each other without waiting.
const claimSQL = `
WITH picked AS (
	SELECT id FROM tasks WHERE kind = $1 AND state = 'ready' AND run_at <= $2
	ORDER BY run_at, id
	LIMIT $5
	FOR UPDATE SKIP LOCKED
)
UPDATE tasks t SET state = 'leased', attempt = t.attempt + 1, lease_owner = $3,
	lease_until = now() + $4 * interval '1 millisecond', updated_at = now()
FROM picked WHERE t.id = picked.id
RETURNING t.id, t.kind, t.ref, COALESCE(t.lane, ''), t.attempt, t.lease_owner, COALESCE(t.last_error, '')`

// Claim leases up to limit due tasks of kind to owner for the given time.
func (p Postgres) Claim(ctx context.Context, kind, owner string, now time.Time, lease time.Duration, limit int) ([]Task, error) {
	rows, err := p.Pool.Query(ctx, claimSQL, kind, now, owner, lease.Milliseconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("claiming %s tasks: %w", kind, err)
	}
	tasks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Task, error) {
		var t Task
		err := row.Scan(&t.ID, &t.Kind, &t.Ref, &t.Lane, &t.Attempt, &t.Owner, &t.LastError)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming %s tasks: %w", kind, err)
	}
	return tasks, nil
}

// Extend renews every lease of kind that owner holds, so that work longer than one
// lease is not taken away while its worker is alive.
func (p Postgres) Extend(ctx context.Context, kind, owner string, lease time.Duration) error {
	_, err := p.Pool.Exec(ctx, `UPDATE tasks SET lease_until = now() + $3 * interval '1 millisecond'
		WHERE kind = $1 AND lease_owner = $2 AND state = 'leased'`, kind, owner, lease.Milliseconds())
	if err != nil {
		return fmt.Errorf("extending %s leases: %w", kind, err)
	}
	return nil
}

// Retry puts a leased task back, due at `at`, with the reason; ErrLeaseLost if the
// lease is no longer the caller's. It stays its lane's head: the tasks behind it wait.
func (p Postgres) Retry(ctx context.Context, t Task, at time.Time, cause string) error {
	return settle(ctx, p.Pool, t, `UPDATE tasks SET state = 'ready', run_at = $4, last_error = $5,
		lease_owner = NULL, lease_until = NULL, updated_at = now()
		WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempt = $3`, at, cause)
}

// Fail gives up on a leased task: it stays in the table, failed, with the reason, and
// the next task of its lane is made ready.
func (p Postgres) Fail(ctx context.Context, t Task, cause string) error {
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		if err := settle(ctx, tx, t, `UPDATE tasks SET state = 'failed', last_error = $4,
			lease_owner = NULL, lease_until = NULL, updated_at = now()
			WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempt = $3`, cause); err != nil {
			return err
		}
		b := &pgx.Batch{}
		queueAdvanceLane(b, t.Lane)
		return tx.SendBatch(ctx, b).Close()
	})
}

// execer runs one statement: the pool, or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func settle(ctx context.Context, db execer, t Task, sql string, args ...any) error {
	tag, err := db.Exec(ctx, sql, append([]any{t.ID, t.Owner, t.Attempt}, args...)...)
	if err != nil {
		return fmt.Errorf("settling task: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Release hands back every lease of kind that owner still holds (at shutdown, after its
// handlers have stopped), so that the next process need not wait for them to run out.
func (p Postgres) Release(ctx context.Context, kind, owner string) error {
	_, err := p.Pool.Exec(ctx, `UPDATE tasks SET state = 'ready', lease_owner = NULL, lease_until = NULL,
		updated_at = now() WHERE kind = $1 AND lease_owner = $2 AND state = 'leased'`, kind, owner)
	if err != nil {
		return fmt.Errorf("releasing %s leases: %w", kind, err)
	}
	return nil
}

// Reap makes the tasks of kind whose lease has run out ready again (their holder died or
// lost the database), and repairs any lane left with waiting tasks but no head. After
// it, a late settle by the former holder finds its lease gone.
func (p Postgres) Reap(ctx context.Context, kind string) error {
	_, err := p.Pool.Exec(ctx, `UPDATE tasks SET state = 'ready', lease_owner = NULL, lease_until = NULL, updated_at = now()
		WHERE kind = $1 AND state = 'leased' AND lease_until < now()`, kind)
	if err != nil {
		return fmt.Errorf("reaping %s leases: %w", kind, err)
	}
	// A lane needs a head; a settle always names the next one, so this is a safety net.
	_, err = p.Pool.Exec(ctx, `UPDATE tasks SET state = 'ready', updated_at = now() WHERE id IN (
		SELECT min(w.id) FROM tasks w WHERE w.kind = $1 AND w.state = 'waiting'
		AND NOT EXISTS (SELECT 1 FROM tasks h WHERE h.lane = w.lane AND h.state IN ('ready', 'leased'))
		GROUP BY w.lane)`, kind)
	if err != nil {
		return fmt.Errorf("repairing %s lanes: %w", kind, err)
	}
	return nil
}
