package rollout

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"promptpipe/delivery/internal/arms"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/shadow"
	"promptpipe/delivery/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a controller on a real database and a clock the test moves.
type fixture struct {
	t      *testing.T
	db     *store.Store
	now    time.Time
	stats  *arms.Stats
	book   *shadow.Book
	events *devevents.Feed
	c      *Controller
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.NewMigratedDatabase(t, store.Migrate), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f := &fixture{t: t, db: db, now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.restart(0, false)
	return f
}

// restart builds a new controller over the same database, as a restarted delivery does.
func (f *fixture) restart(envPercent int, envShadow bool) {
	f.t.Helper()
	f.stats, f.book = arms.NewStats(100), shadow.NewBook(100)
	f.events = devevents.NewFeed(100, func() time.Time { return f.now })
	f.c = &Controller{Store: f.db, Stats: f.stats, Book: f.book, Metrics: metrics.New().NewMigration(), Events: f.events,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return f.now }}
	if err := f.c.Load(context.Background(), envPercent, envShadow); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) check() State {
	f.t.Helper()
	if err := f.c.Check(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return f.c.State()
}

func (f *fixture) candidateTurns(ok, failed int, latency time.Duration) {
	for i := range ok + failed {
		f.stats.Add(arms.Turn{At: f.now, Arm: arms.Candidate, OK: i < ok, Latency: latency, State: "INTAKE"})
	}
}

func (f *fixture) eventKinds() []string {
	f.t.Helper()
	events, err := f.db.RolloutEvents(context.Background(), 100)
	if err != nil {
		f.t.Fatal(err)
	}
	var kinds []string
	for i := len(events) - 1; i >= 0; i-- {
		kinds = append(kinds, events[i].Kind)
	}
	return kinds
}

var plan = Plan{Step: 25, Interval: Duration(time.Hour), Max: 75,
	Thresholds: Thresholds{ErrorRate: 0.1, P99MS: 2000, MinRequests: 2}}

func TestARolloutStepsOnTheClockAndEndsAtItsMaximum(t *testing.T) {
	f := newFixture(t)
	s, err := f.c.Start(context.Background(), plan)
	if err != nil || s.Percent != 25 || f.c.Percent() != 25 || s.Status != Progressing {
		t.Fatalf("started: %+v, %v", s, err)
	}
	f.candidateTurns(3, 0, 100*time.Millisecond)
	f.now = f.now.Add(59 * time.Minute)
	if s := f.check(); s.Percent != 25 {
		t.Fatalf("stepped before the interval was over: %+v", s)
	}
	f.now = f.now.Add(time.Minute)
	if s := f.check(); s.Percent != 50 || !s.StepStartedAt.Equal(f.now) {
		t.Fatalf("no step after the interval: %+v", s)
	}
	// A new step is judged by its own traffic: with fewer than min_requests it waits,
	// even many intervals later.
	f.now = f.now.Add(5 * time.Hour)
	if s := f.check(); s.Percent != 50 {
		t.Fatalf("stepped with no traffic to judge: %+v", s)
	}
	f.candidateTurns(2, 0, 100*time.Millisecond)
	if s := f.check(); s.Percent != 75 {
		t.Fatalf("at %d %%", s.Percent)
	}
	f.now = f.now.Add(time.Hour)
	f.candidateTurns(2, 0, 100*time.Millisecond)
	if s := f.check(); s.Status != Succeeded || s.Percent != 75 {
		t.Fatalf("not succeeded at the maximum: %+v", s)
	}
	if got := f.eventKinds(); len(got) != 4 || got[0] != "started" || got[1] != "step" || got[3] != "succeeded" {
		t.Fatalf("events = %v", got)
	}
}

func TestABreachedThresholdRollsBackAtOnce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.Start(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	f.candidateTurns(1, 0, time.Millisecond)
	if s := f.check(); s.Status != Progressing {
		t.Fatalf("judged on one turn: %+v", s) // min_requests is 2
	}
	f.candidateTurns(3, 1, time.Millisecond) // 1 of 5 failed: 20 % > 10 %
	s := f.check()
	if s.Status != Halted || s.Percent != 0 || f.c.Percent() != 0 || s.Reason == "" {
		t.Fatalf("not halted: %+v", s)
	}
	if testutil.ToFloat64(f.c.Metrics.RolloutHalted) != 1 || testutil.ToFloat64(f.c.Metrics.RolloutPercent) != 0 {
		t.Fatal("metrics do not show the halt")
	}
	feed := f.events.After(0, 10)
	if last := feed[len(feed)-1]; last.Kind != "rollout.halted" || last.Data["percent"] != 0 {
		t.Fatalf("event log = %+v", feed)
	}
	// Halted stays halted: more time changes nothing.
	f.now = f.now.Add(10 * time.Hour)
	if s := f.check(); s.Percent != 0 || s.Status != Halted {
		t.Fatalf("moved after the halt: %+v", s)
	}
}

func TestSlowOrDisagreeingCandidatesAreRolledBackToo(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.Start(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	f.candidateTurns(3, 0, 3*time.Second)
	if s := f.check(); s.Status != Halted {
		t.Fatalf("slow candidate kept: %+v", s)
	}
	f = newFixture(t)
	p := plan
	p.Thresholds.Agreement, p.Thresholds.MinCompared = 0.5, 2
	if _, err := f.c.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	f.book.Add(shadow.Comparison{At: f.now, Result: shadow.Result{Outcome: shadow.Differ}})
	if s := f.check(); s.Status != Progressing {
		t.Fatalf("judged on one comparison: %+v", s)
	}
	f.book.Add(shadow.Comparison{At: f.now, Result: shadow.Result{Outcome: shadow.Differ}})
	f.book.Add(shadow.Comparison{At: f.now, Result: shadow.Result{Outcome: shadow.Agree}})
	if s := f.check(); s.Status != Halted {
		t.Fatalf("1 of 3 agreeing kept: %+v", s)
	}
}

func TestTheRolloutSurvivesARestartAndAChangedEnvironmentWins(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.Start(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.SetShadow(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	f.restart(0, false)
	s := f.c.State()
	if s.Percent != 25 || s.Status != Progressing || !s.Shadow || s.Plan == nil || s.Plan.Step != 25 || !f.c.Shadowing() {
		t.Fatalf("after restart: %+v", s)
	}
	f.now = f.now.Add(time.Hour)
	f.candidateTurns(2, 0, time.Millisecond)
	if s := f.check(); s.Percent != 50 {
		t.Fatalf("did not carry on: %+v", s)
	}
	f.restart(10, false) // the operator set AGENT_ROLLOUT_PERCENT=10
	if s := f.c.State(); s.Percent != 10 || s.Status != Idle || s.Shadow {
		t.Fatalf("environment lost: %+v", s)
	}
	if kinds := f.eventKinds(); kinds[len(kinds)-1] != "env" {
		t.Fatalf("events = %v", kinds)
	}
}

func TestPromoteAndRollbackByHand(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.Start(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if s, err := f.c.Promote(context.Background()); err != nil || s.Percent != 100 || s.Status != Promoted {
		t.Fatalf("promote: %+v, %v", s, err)
	}
	f.candidateTurns(0, 5, time.Millisecond)
	if s := f.check(); s.Percent != 100 {
		t.Fatalf("a promoted candidate is no longer judged: %+v", s)
	}
	if s, err := f.c.Rollback(context.Background(), "testing"); err != nil || s.Percent != 0 || s.Status != RolledBack || s.Reason != "testing" {
		t.Fatalf("rollback: %+v, %v", s, err)
	}
}

func TestPlansAreValidated(t *testing.T) {
	for _, p := range []Plan{
		{Step: 0, Interval: Duration(time.Hour), Max: 100},
		{Step: 10, Interval: 0, Max: 100},
		{Step: 10, Interval: Duration(time.Hour), Max: 101},
		{Step: 10, Interval: Duration(time.Hour), Max: 100, Thresholds: Thresholds{ErrorRate: 2}},
		{Step: 10, Interval: Duration(time.Hour), Max: 100, Thresholds: Thresholds{MinRequests: -1}},
	} {
		if p.Validate() == nil {
			t.Errorf("accepted %+v", p)
		}
	}
	if DefaultPlan.Validate() != nil {
		t.Fatal("the default plan is invalid")
	}
}
