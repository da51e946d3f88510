package clock

import (
	"context"
	"time"
)

// Agenda is what time travel needs to know of the work due over time.
type Agenda interface {
	// NextDueAt is when the earliest job falls due, if that is no later than upTo.
	NextDueAt(ctx context.Context, upTo time.Time) (time.Time, bool, error)
	// Settled tells whether the work due at now is done (fired, and its messages out).
	Settled(ctx context.Context, now time.Time) (bool, error)
}

// maxStops bounds one trip through time; a job that keeps rescheduling itself within the
// trip (a failing one retrying) cannot hold the trip forever.
const maxStops = 500

// settleTimeout bounds the wait at one stop; the trip goes on after it (and says so).
const settleTimeout = 15 * time.Second

// Travel moves a virtual clock forward to target as if the time had really passed: it
// stops at every job due on the way, waits until the work due then is done, and goes on.
// So a prompt due at 07:20 is stamped 07:20 and judged by the 24-hour window as of
// 07:20, not as of the trip's end. wake is called when due work is waiting without the
// clock moving (a retry due already). stragglers reports the stops it left unsettled.
func (c *Clock) Travel(ctx context.Context, target time.Time, agenda Agenda, wake func()) (stragglers int, err error) {
	if target.Before(c.Now()) {
		return 0, ErrBackwards
	}
	for range maxStops {
		next, found, err := agenda.NextDueAt(ctx, target)
		if err != nil {
			return stragglers, err
		}
		if !found {
			break
		}
		if next.After(c.Now()) {
			if _, err := c.Set(ctx, next); err != nil {
				return stragglers, err
			}
		} else {
			wake()
		}
		settled, err := waitSettled(ctx, agenda, c.Now())
		if err != nil {
			return stragglers, err
		}
		if !settled {
			stragglers++
		}
	}
	if target.After(c.Now()) {
		_, err := c.Set(ctx, target)
		return stragglers, err
	}
	return stragglers, nil
}

// waitSettled waits, boundedly, until the work due at now is done.
func waitSettled(ctx context.Context, agenda Agenda, now time.Time) (bool, error) {
	deadline := time.Now().Add(settleTimeout)
	for time.Now().Before(deadline) {
		settled, err := agenda.Settled(ctx, now)
		if err != nil || settled {
			return settled, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false, nil
}
