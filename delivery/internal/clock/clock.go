// Package clock is delivery's notion of now: real time, or in the dev stack a virtual time
// that can be moved forward, kept in the database so a restart keeps it.
package clock

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrBackwards refuses to move the clock back: due work would have fired already.
var ErrBackwards = errors.New("the clock only moves forward")

// Clock is safe for concurrent use.
type Clock struct {
	pool    *pgxpool.Pool
	offset  atomic.Int64 // nanoseconds ahead of real time
	virtual bool
	// OnChange is called after every move (to wake the job runner, tell the mock...).
	OnChange func(now time.Time)
}

// New loads the stored offset when virtual is true; a real clock ignores it.
func New(ctx context.Context, pool *pgxpool.Pool, virtual bool) (*Clock, error) {
	c := &Clock{pool: pool, virtual: virtual}
	if !virtual {
		return c, nil
	}
	var ms int64
	if err := pool.QueryRow(ctx, `SELECT offset_ms FROM clock`).Scan(&ms); err != nil {
		return nil, fmt.Errorf("loading clock offset: %w", err)
	}
	c.offset.Store(ms * int64(time.Millisecond))
	return c, nil
}

// Virtual tells whether this clock may be moved.
func (c *Clock) Virtual() bool { return c.virtual }

// Now is the current (possibly virtual) time, in UTC.
func (c *Clock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load())).UTC()
}

// Offset is how far the clock runs ahead of real time.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Advance moves a virtual clock forward by d and returns the new now.
func (c *Clock) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	if !c.virtual {
		return time.Time{}, errors.New("the clock is real (DEV_CLOCK is off)")
	}
	if d < 0 {
		return time.Time{}, ErrBackwards
	}
	next := c.Offset() + d
	if _, err := c.pool.Exec(ctx, `UPDATE clock SET offset_ms = $1`, next.Milliseconds()); err != nil {
		return time.Time{}, fmt.Errorf("storing clock offset: %w", err)
	}
	c.offset.Store(int64(next))
	now := c.Now()
	if c.OnChange != nil {
		c.OnChange(now)
	}
	return now, nil
}

// Set moves a virtual clock forward to t.
func (c *Clock) Set(ctx context.Context, t time.Time) (time.Time, error) {
	return c.Advance(ctx, t.Sub(c.Now()))
}
