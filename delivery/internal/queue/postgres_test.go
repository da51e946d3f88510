package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var now = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// newQueue is the task table of a freshly migrated database.
func newQueue(t *testing.T) queue.Postgres {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.NewMigratedDatabase(t, store.Migrate), 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return queue.Postgres{Pool: db.Pool}
}

func enqueue(t *testing.T, q queue.Postgres, tasks ...queue.New) {
	t.Helper()
	for _, n := range tasks {
		if n.Kind == "" {
			n.Kind = "test"
		}
		if err := queue.Enqueue(context.Background(), q.Pool, n); err != nil {
			t.Fatal(err)
		}
	}
}

func claim(t *testing.T, q queue.Postgres, owner string, at time.Time) []queue.Task {
	t.Helper()
	tasks, err := q.Claim(context.Background(), "test", owner, at, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

func refs(tasks []queue.Task) string {
	out := ""
	for _, t := range tasks {
		out += t.Ref + " "
	}
	return out
}

// expire makes every lease run out, as if their holder had died a while ago.
func expire(t *testing.T, q queue.Postgres) {
	t.Helper()
	if _, err := q.Pool.Exec(context.Background(), `UPDATE tasks SET lease_until = now() - interval '1 second' WHERE state = 'leased'`); err != nil {
		t.Fatal(err)
	}
}

func complete(t *testing.T, q queue.Postgres, task queue.Task) error {
	t.Helper()
	return pgx.BeginFunc(context.Background(), q.Pool, func(tx pgx.Tx) error { return queue.Complete(context.Background(), tx, task) })
}

func TestClaimLeasesDueTasksOnceInOrder(t *testing.T) {
	q := newQueue(t)
	enqueue(t, q, queue.New{Ref: "a"}, queue.New{Ref: "later", RunAt: now.Add(time.Hour)}, queue.New{Ref: "b"},
		queue.New{Ref: "other kind", Kind: "else"})
	got := claim(t, q, "w1", now)
	if refs(got) != "a b " || got[0].Attempt != 1 || got[0].Owner != "w1" {
		t.Fatalf("claimed %+v, want a and b on their first attempt", got)
	}
	if again := claim(t, q, "w2", now); len(again) != 0 {
		t.Fatalf("a leased task was claimed again: %+v", again)
	}
	if due := claim(t, q, "w2", now.Add(time.Hour)); refs(due) != "later " {
		t.Fatalf("at its time, claimed %+v", due)
	}
}

func TestALaneRunsOneTaskAtATimeOldestFirst(t *testing.T) {
	q := newQueue(t)
	enqueue(t, q, queue.New{Ref: "p1", Lane: "phone"}, queue.New{Ref: "p2", Lane: "phone"},
		queue.New{Ref: "x1", Lane: "other"}, queue.New{Ref: "p3", Lane: "phone"}, queue.New{Ref: "free"})
	first := claim(t, q, "w", now)
	if refs(first) != "p1 x1 free " {
		t.Fatalf("claimed %q, want the head of each lane and the task with none", refs(first))
	}
	if more := claim(t, q, "w", now); len(more) != 0 {
		t.Fatalf("a lane was leased twice: %+v", more)
	}
	if err := complete(t, q, first[0]); err != nil {
		t.Fatal(err)
	}
	if next := claim(t, q, "w", now); refs(next) != "p2 " {
		t.Fatalf("after p1, claimed %q", refs(next))
	}
}

func TestAnExpiredLeaseIsClaimedAgainAndItsFormerHolderCannotSettle(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	enqueue(t, q, queue.New{Ref: "m1", Lane: "phone"}, queue.New{Ref: "m2", Lane: "phone"})
	crashed := claim(t, q, "dead", now)[0]
	if stolen := claim(t, q, "alive", now); len(stolen) != 0 {
		t.Fatalf("a live lease was taken: %+v", stolen)
	}
	expire(t, q)
	if err := q.Reap(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	again := claim(t, q, "alive", now)
	if len(again) != 1 || again[0].Ref != "m1" || again[0].Attempt != 2 {
		t.Fatalf("after expiry, claimed %+v; want m1 again (not m2) on attempt 2", again)
	}
	for _, settle := range []func(queue.Task) error{
		func(task queue.Task) error { return complete(t, q, task) },
		func(t queue.Task) error { return q.Retry(ctx, t, now, "late") },
		func(t queue.Task) error { return q.Fail(ctx, t, "late") },
	} {
		if err := settle(crashed); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("the former holder settled: %v", err)
		}
	}
	if err := complete(t, q, again[0]); err != nil {
		t.Fatalf("the holder could not settle: %v", err)
	}
}

func TestExtendKeepsALeaseAlive(t *testing.T) {
	q := newQueue(t)
	enqueue(t, q, queue.New{Ref: "long call"})
	claim(t, q, "busy", now)
	expire(t, q)
	if err := q.Extend(context.Background(), "test", "busy", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := q.Reap(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	if stolen := claim(t, q, "other", now); len(stolen) != 0 {
		t.Fatalf("a renewed lease was taken: %+v", stolen)
	}
}

func TestRetryWaitsForItsTimeAndKeepsTheLaneInOrder(t *testing.T) {
	q := newQueue(t)
	enqueue(t, q, queue.New{Ref: "s1", Lane: "phone"}, queue.New{Ref: "s2", Lane: "phone"})
	first := claim(t, q, "w", now)[0]
	if err := q.Retry(context.Background(), first, now.Add(time.Minute), "429"); err != nil {
		t.Fatal(err)
	}
	if early := claim(t, q, "w", now); len(early) != 0 {
		t.Fatalf("claimed %q before the retry's time; s2 must not overtake s1", refs(early))
	}
	later := claim(t, q, "w", now.Add(time.Minute))
	if refs(later) != "s1 " || later[0].Attempt != 2 || later[0].LastError != "429" {
		t.Fatalf("at the retry's time, claimed %+v", later)
	}
}

func TestAFailedTaskNoLongerHoldsUpItsLane(t *testing.T) {
	q := newQueue(t)
	enqueue(t, q, queue.New{Ref: "bad", Lane: "phone"}, queue.New{Ref: "good", Lane: "phone"})
	if err := q.Fail(context.Background(), claim(t, q, "w", now)[0], "unreadable"); err != nil {
		t.Fatal(err)
	}
	if next := claim(t, q, "w", now); refs(next) != "good " {
		t.Fatalf("claimed %q", refs(next))
	}
}

func TestReleaseHandsLeasesBackAtOnce(t *testing.T) {
	q := newQueue(t)
	enqueue(t, q, queue.New{Ref: "a"})
	claim(t, q, "leaving", now)
	if err := q.Release(context.Background(), "test", "leaving"); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, q, "next", now); refs(got) != "a " {
		t.Fatalf("claimed %q", refs(got))
	}
}

// Many claimers at once, each settling what it gets, while more tasks are enqueued: no
// lane is ever leased twice at a time, none is left stuck, and each lane's tasks finish
// in the order they were queued.
func TestConcurrentClaimersKeepEachLaneSerialAndInOrder(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	const lanes, perLane = 6, 15
	enqueueRound := func(i int) error {
		for l := range lanes {
			if err := pgx.BeginFunc(ctx, q.Pool, func(tx pgx.Tx) error {
				return queue.Enqueue(ctx, tx, queue.New{Kind: "test", Ref: fmt.Sprint(i), Lane: fmt.Sprint("lane", l)})
			}); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range perLane / 3 {
		if err := enqueueRound(i); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	busy := map[string]bool{}
	order := map[string][]string{}
	finished := 0
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Add(1)
	go func() { // the rest arrive while the claimers work
		defer wg.Done()
		for i := perLane / 3; i < perLane; i++ {
			if err := enqueueRound(i); err != nil {
				errs <- err
				return
			}
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				mu.Lock()
				all := finished == lanes*perLane
				mu.Unlock()
				if all {
					return
				}
				tasks, err := q.Claim(ctx, "test", fmt.Sprint("w", w), now, time.Minute, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(tasks) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, task := range tasks {
					mu.Lock()
					if busy[task.Lane] {
						errs <- fmt.Errorf("lane %s leased twice at once", task.Lane)
					}
					busy[task.Lane] = true
					order[task.Lane] = append(order[task.Lane], task.Ref)
					mu.Unlock()
				}
				for _, task := range tasks {
					mu.Lock()
					busy[task.Lane] = false
					finished++
					mu.Unlock()
					if err := complete(t, q, task); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for l := range lanes {
		lane := fmt.Sprint("lane", l)
		if len(order[lane]) != perLane {
			t.Fatalf("%s: %d tasks done, want %d (a lane was left stuck)", lane, len(order[lane]), perLane)
		}
		for i, ref := range order[lane] {
			if ref != fmt.Sprint(i) {
				t.Fatalf("%s ran out of order: %v", lane, order[lane])
			}
		}
	}
}
