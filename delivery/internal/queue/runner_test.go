package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"promptpipe/delivery/internal/retry"
)

// memStore is the task table at the edge of the Runner: it hands out its ready tasks and
// records what the Runner says about them. A task put back is due again at once (the
// Runner's delay is recorded, not waited for).
type memStore struct {
	mu       sync.Mutex
	ready    []Task
	retries  []retried
	fails    []Task
	extends  int
	released bool
}

type retried struct {
	task  Task
	at    time.Time
	cause string
}

func (m *memStore) add(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range n {
		m.ready = append(m.ready, Task{ID: int64(i + 1), Kind: "test"})
	}
}

func (m *memStore) Claim(_ context.Context, kind, owner string, _ time.Time, _ time.Duration, limit int) ([]Task, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := min(limit, len(m.ready))
	out := make([]Task, n)
	for i, t := range m.ready[:n] {
		t.Attempt++
		t.Owner = owner
		out[i] = t
	}
	m.ready = m.ready[n:]
	return out, nil
}

func (m *memStore) Extend(context.Context, string, string, time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.extends++
	return nil
}

func (m *memStore) Retry(_ context.Context, t Task, at time.Time, cause string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retries = append(m.retries, retried{t, at, cause})
	t.LastError = cause
	m.ready = append(m.ready, t)
	return nil
}

func (m *memStore) Fail(_ context.Context, t Task, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fails = append(m.fails, t)
	return nil
}

func (m *memStore) Release(context.Context, string, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.released = true
	return nil
}

func (m *memStore) Reap(context.Context, string) error { return nil }

func (m *memStore) read(f func(m *memStore) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return f(m)
}

var epoch = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// start runs a Runner over store until the test ends; the returned stop ends it early
// and waits for Run to return.
func start(t *testing.T, store *memStore, handle Handler, configure func(*Runner)) (stop func()) {
	t.Helper()
	r := &Runner{Kind: "test", Handle: handle, Store: store, Owner: "me", Concurrency: 4, Lease: time.Minute,
		Poll: 5 * time.Millisecond, Grace: time.Minute, Retry: retry.Policy{Attempts: 3, Base: time.Second, Cap: 4 * time.Second},
		Now: func() time.Time { return epoch }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunnerRetriesUnderThePolicyThenFails(t *testing.T) {
	store := &memStore{}
	store.add(1)
	start(t, store, func(context.Context, Task) error { return errors.New("agent unreachable") }, nil)
	waitUntil(t, "the task to fail", func() bool { return store.read(func(m *memStore) bool { return len(m.fails) == 1 }) })
	store.read(func(m *memStore) bool {
		if len(m.retries) != 2 || m.fails[0].Attempt != 3 {
			t.Fatalf("retries = %+v, failed at attempt %d; want 2 retries, then failed at the third", m.retries, m.fails[0].Attempt)
		}
		for i, r := range m.retries { // full jitter under 1s, then 2s (the cap is 4s)
			ceiling := time.Second << i
			if r.at.Before(epoch) || r.at.After(epoch.Add(ceiling)) || r.cause != "agent unreachable" || r.task.Attempt != i+1 {
				t.Fatalf("retry %d = %+v, want at most %v after now", i+1, r, ceiling)
			}
		}
		return true
	})
}

func TestRunnerFailsAnErrorNotWorthRetryingAtOnce(t *testing.T) {
	store := &memStore{}
	store.add(1)
	start(t, store, func(context.Context, Task) error { return fmt.Errorf("sending: %w", refused{}) }, nil)
	waitUntil(t, "the task to fail", func() bool { return store.read(func(m *memStore) bool { return len(m.fails) == 1 }) })
	if store.read(func(m *memStore) bool { return len(m.retries) != 0 }) {
		t.Fatal("a refused call was retried")
	}
}

type refused struct{}

func (refused) Error() string   { return "400 bad request" }
func (refused) Retryable() bool { return false }

func TestRunnerHonoursRetryAfter(t *testing.T) {
	store := &memStore{}
	store.add(1)
	calls := 0
	start(t, store, func(context.Context, Task) error {
		calls++
		if calls == 1 {
			return limited{}
		}
		return nil
	}, nil)
	waitUntil(t, "the retry", func() bool { return store.read(func(m *memStore) bool { return len(m.retries) == 1 }) })
	if at := store.retries[0].at; !at.Equal(epoch.Add(3 * time.Second)) {
		t.Fatalf("retry at %v, want 3s (Retry-After) after now", at)
	}
}

type limited struct{}

func (limited) Error() string             { return "429" }
func (limited) Retryable() bool           { return true }
func (limited) RetryAfter() time.Duration { return 3 * time.Second }

func TestRunnerDropsTheResultOfALostLease(t *testing.T) {
	store := &memStore{}
	store.add(3)
	var mu sync.Mutex
	handled := 0
	start(t, store, func(context.Context, Task) error {
		mu.Lock()
		defer mu.Unlock()
		handled++
		return fmt.Errorf("settling: %w", ErrLeaseLost)
	}, nil)
	waitUntil(t, "three tasks handled", func() bool { mu.Lock(); defer mu.Unlock(); return handled == 3 })
	stopAll := store.read(func(m *memStore) bool { return len(m.retries) == 0 && len(m.fails) == 0 })
	if !stopAll {
		t.Fatal("a task whose lease was lost was settled anyway")
	}
}

func TestRunnerKeepsConcurrencyCallsInFlightAndNoMore(t *testing.T) {
	store := &memStore{}
	store.add(40)
	var mu sync.Mutex
	running, most, done := 0, 0, 0
	release := make(chan struct{})
	start(t, store, func(context.Context, Task) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		done++
		mu.Unlock()
		return nil
	}, func(r *Runner) { r.Concurrency = 7 })
	waitUntil(t, "seven calls in flight", func() bool { mu.Lock(); defer mu.Unlock(); return running == 7 })
	close(release)
	waitUntil(t, "every task", func() bool { mu.Lock(); defer mu.Unlock(); return done == 40 })
	if most != 7 {
		t.Fatalf("%d calls were in flight at once, want 7", most)
	}
}

func TestRunnerRenewsLeasesWhileAHandlerWorks(t *testing.T) {
	store := &memStore{}
	store.add(1)
	release := make(chan struct{})
	start(t, store, func(context.Context, Task) error { <-release; return nil }, func(r *Runner) { r.Lease = 30 * time.Millisecond })
	waitUntil(t, "two renewals", func() bool { return store.read(func(m *memStore) bool { return m.extends >= 2 }) })
	close(release)
}

func TestRunnerAtShutdownStopsWhatOutlivesTheGraceAndReleasesItsLeases(t *testing.T) {
	store := &memStore{}
	store.add(2)
	started := make(chan struct{}, 2)
	stop := start(t, store, func(ctx context.Context, _ Task) error {
		started <- struct{}{}
		<-ctx.Done() // an agent call that would take longer than the grace
		return ctx.Err()
	}, func(r *Runner) { r.Grace = 0 })
	<-started
	<-started
	stop()
	store.read(func(m *memStore) bool {
		if !m.released || len(m.fails) != 0 || len(m.retries) != 0 {
			t.Fatalf("released=%v fails=%d retries=%d; want the leases released and nothing settled", m.released, len(m.fails), len(m.retries))
		}
		return true
	})
}

func TestRunnerTurnsAPanicIntoARetry(t *testing.T) {
	store := &memStore{}
	store.add(1)
	calls := 0
	start(t, store, func(context.Context, Task) error {
		calls++
		if calls == 1 {
			panic("nil map")
		}
		return nil
	}, nil)
	waitUntil(t, "the retry", func() bool { return store.read(func(m *memStore) bool { return len(m.retries) == 1 }) })
}
