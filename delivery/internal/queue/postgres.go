package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres keeps the tasks in the table "tasks" of the pool's search_path (delivery's
// schema; the table comes with delivery's migrations). Every method is one statement,
// so no transaction outlives it.
type Postgres struct {
	Pool *pgxpool.Pool
}

// claimSQL leases up to $5 due tasks of one kind. A task is due when its run_at has come
// in delivery's clock ($2) and it is ready or its lease has run out in the database's
// real time. A task in a lane is claimable only as the lane's oldest unfinished task, so
// a lane never has two leases at once, and a later task never overtakes an earlier one.
// SKIP LOCKED lets concurrent claimers pass each other without waiting.
const claimSQL = `
WITH picked AS (
	SELECT id FROM tasks c
	WHERE c.kind = $1 AND c.run_at <= $2
	  AND (c.state = 'ready' OR (c.state = 'leased' AND c.lease_until < now()))
	  AND (c.lane IS NULL OR NOT EXISTS (
	      SELECT 1 FROM tasks e WHERE e.lane = c.lane AND e.id < c.id AND e.state <> 'failed'))
	ORDER BY c.run_at, c.id
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
// lease is no longer the caller's.
func (p Postgres) Retry(ctx context.Context, t Task, at time.Time, cause string) error {
	return p.settle(ctx, t, `UPDATE tasks SET state = 'ready', run_at = $4, last_error = $5,
		lease_owner = NULL, lease_until = NULL, updated_at = now()
		WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempt = $3`, at, cause)
}

// Fail gives up on a leased task: it stays in the table, failed, with the reason, and
// no longer holds up its lane.
func (p Postgres) Fail(ctx context.Context, t Task, cause string) error {
	return p.settle(ctx, t, `UPDATE tasks SET state = 'failed', last_error = $4,
		lease_owner = NULL, lease_until = NULL, updated_at = now()
		WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempt = $3`, cause)
}

func (p Postgres) settle(ctx context.Context, t Task, sql string, args ...any) error {
	tag, err := p.Pool.Exec(ctx, sql, append([]any{t.ID, t.Owner, t.Attempt}, args...)...)
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
