// Package retry is delivery's one rule for trying a call again: exponential backoff with
// full jitter under a cap, honouring a server's Retry-After, for what may pass later
// (network errors, 429, 5xx but 501) and never once the caller has given up.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy says how often and how patiently to try. Every retried call in delivery uses
// one: the agent calls, the read receipts, and the queue's retries of sends and jobs.
type Policy struct {
	Attempts int           // tries in all, the first included
	Base     time.Duration // ceiling of the first wait; it doubles with each retry
	Cap      time.Duration // no wait is longer, not even one a server asked for
}

// Delay is the wait before retry n (1 = the first retry): the time the server asked for
// in Retry-After when err carries one, else a random time between zero and
// min(Cap, Base·2^(n-1)). Full jitter spreads the retries of many callers that failed
// together, so they do not come back together.
func (p Policy) Delay(n int, err error) time.Duration {
	if d, ok := After(err); ok {
		return min(d, p.Cap)
	}
	ceiling := p.Cap
	if n < 1 {
		n = 1
	}
	if n <= 32 && p.Base<<(n-1) > 0 {
		ceiling = min(p.Base<<(n-1), p.Cap)
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// Last tells whether attempt (1 = the first) is the last the policy allows.
func (p Policy) Last(attempt int) bool { return attempt >= p.Attempts }

// Do calls try until it succeeds, fails with an error not worth retrying, has made
// Attempts tries, or ctx ends; it returns the last error. try is told its attempt number.
func (p Policy) Do(ctx context.Context, try func(attempt int) error) error {
	var err error
	for n := 1; ; n++ {
		if err = try(n); err == nil {
			return nil
		}
		if p.Last(n) || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if werr := Sleep(ctx, p.Delay(n, err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// Retryable tells whether err may pass on a later try. An error that knows (it has a
// Retryable() bool method, such as an HTTP answer) decides; the end of the caller's
// context never does; anything else (a network error, a timeout) does.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}

// After reports the wait a server asked for, when err carries one (a RetryAfter()
// time.Duration method with a positive answer).
func After(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) && r.RetryAfter() > 0 {
		return r.RetryAfter(), true
	}
	return 0, false
}

// Status tells whether an HTTP status is worth retrying: 429 and every 5xx but 501 (the
// server will not do it, however often it is asked).
func Status(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
}

// ParseRetryAfter reads a Retry-After header, in seconds or as an HTTP date; zero when
// absent or unreadable.
func ParseRetryAfter(header string, now time.Time) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if secs, err := strconv.Atoi(header); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if at, err := http.ParseTime(header); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// Sleep waits for d or the end of ctx, whichever comes first; it returns ctx's error
// when that came first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Permanent marks err as not worth retrying: the same call would fail the same way.
func Permanent(err error) error { return permanent{err} }

type permanent struct{ error }

func (p permanent) Unwrap() error   { return p.error }
func (p permanent) Retryable() bool { return false }
