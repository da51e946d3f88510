package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// agenda is a list of due times at the edge of Travel: a job counts as fired once the
// clock has stopped at its time and Travel has asked whether the work there is settled.
type agenda struct {
	due   []time.Time
	stops []time.Time
}

func (a *agenda) NextDueAt(_ context.Context, upTo time.Time) (time.Time, bool, error) {
	if len(a.due) == 0 || a.due[0].After(upTo) {
		return time.Time{}, false, nil
	}
	return a.due[0], true, nil
}

func (a *agenda) Settled(_ context.Context, now time.Time) (bool, error) {
	if len(a.due) > 0 && !a.due[0].After(now) {
		a.stops = append(a.stops, now)
		a.due = a.due[1:]
	}
	return true, nil
}

func TestTravelStopsAtEveryJobOnTheWayInOrder(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.NewMigratedDatabase(t, store.Migrate), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := clock.New(ctx, db.Pool, true)
	if err != nil {
		t.Fatal(err)
	}
	var moves []time.Time
	c.OnChange = func(now time.Time) { moves = append(moves, now) }
	start := c.Now()
	a := &agenda{due: []time.Time{start.Add(time.Hour), start.Add(5 * time.Hour), start.Add(48 * time.Hour)}}
	target := start.Add(24 * time.Hour)
	if _, err := c.Travel(ctx, target, a, func() {}); err != nil {
		t.Fatal(err)
	}
	// Real time runs on during the trip, so a stop is at its job's time or just after.
	near := func(got, want time.Time) bool { return !got.Before(want) && got.Sub(want) < time.Second }
	if len(a.stops) != 2 || !near(a.stops[0], start.Add(time.Hour)) || !near(a.stops[1], start.Add(5*time.Hour)) {
		t.Fatalf("stopped at %v; want one and five hours in", a.stops)
	}
	if len(moves) != 3 || c.Now().Before(target) || len(a.due) != 1 {
		t.Fatalf("moves %v, now %v; want two stops and the target, and the job after it left", moves, c.Now())
	}
	if _, err := c.Travel(ctx, start, a, func() {}); !errors.Is(err, clock.ErrBackwards) {
		t.Fatalf("travelling back: %v", err)
	}
}
