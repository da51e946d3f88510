package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

type answer struct {
	retryable bool
	after     time.Duration
}

func (a answer) Error() string             { return "answer" }
func (a answer) Retryable() bool           { return a.retryable }
func (a answer) RetryAfter() time.Duration { return a.after }

func TestDelayIsFullJitterUnderADoublingCeilingAndTheCap(t *testing.T) {
	p := Policy{Attempts: 10, Base: 100 * time.Millisecond, Cap: time.Second}
	for n, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 40: time.Second} {
		var low, high bool
		for range 2000 {
			d := p.Delay(n, errors.New("network"))
			if d < 0 || d > ceiling {
				t.Fatalf("retry %d waited %v, outside [0, %v]", n, d, ceiling)
			}
			low = low || d < ceiling/4
			high = high || d > ceiling*3/4
		}
		if !low || !high {
			t.Fatalf("retry %d: waits do not spread over [0, %v] (low=%v high=%v)", n, ceiling, low, high)
		}
	}
}

func TestDelayHonoursRetryAfterUpToTheCap(t *testing.T) {
	p := Policy{Attempts: 3, Base: 10 * time.Millisecond, Cap: time.Minute}
	if d := p.Delay(1, answer{retryable: true, after: 7 * time.Second}); d != 7*time.Second {
		t.Fatalf("Retry-After 7s gave %v", d)
	}
	if d := p.Delay(1, answer{retryable: true, after: time.Hour}); d != time.Minute {
		t.Fatalf("Retry-After 1h gave %v, want the cap", d)
	}
}

func TestDoRetriesWhatMayPassAndStopsOtherwise(t *testing.T) {
	p := Policy{Attempts: 3, Base: time.Microsecond, Cap: time.Microsecond}
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		err   error
		tries int
	}{
		{"network error", errors.New("connection refused"), 3},
		{"503", answer{retryable: true}, 3},
		{"400", answer{retryable: false}, 1},
		{"caller gave up", context.Canceled, 1},
	} {
		tries := 0
		err := p.Do(ctx, func(int) error { tries++; return c.err })
		if tries != c.tries || !errors.Is(err, c.err) {
			t.Errorf("%s: %d tries, error %v; want %d tries", c.name, tries, err, c.tries)
		}
	}
	tries := 0
	if err := p.Do(ctx, func(n int) error {
		tries = n
		if n < 2 {
			return errors.New("once")
		}
		return nil
	}); err != nil || tries != 2 {
		t.Fatalf("success on the second try: %v after %d", err, tries)
	}
}

func TestDoStopsWaitingWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Attempts: 5, Base: time.Hour, Cap: time.Hour}
	tries := 0
	err := p.Do(ctx, func(int) error { tries++; cancel(); return errors.New("down") })
	if tries != 1 || err == nil {
		t.Fatalf("%d tries, %v", tries, err)
	}
}

func TestStatusAndRetryAfterHeader(t *testing.T) {
	for code, want := range map[int]bool{429: true, 500: true, 501: false, 502: true, 503: true, 400: false, 404: false} {
		if Status(code) != want {
			t.Errorf("Status(%d) = %v", code, !want)
		}
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for header, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "soon": 0, "-1": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
	} {
		if got := ParseRetryAfter(header, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", header, got, want)
		}
	}
}
