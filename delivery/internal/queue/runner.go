package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"promptpipe/delivery/internal/retry"
)

// Store is what a Runner needs of the task table: Postgres in delivery, a fake in tests.
type Store interface {
	Claim(ctx context.Context, kind, owner string, now time.Time, lease time.Duration, limit int) ([]Task, error)
	Extend(ctx context.Context, kind, owner string, lease time.Duration) error
	Retry(ctx context.Context, t Task, at time.Time, cause string) error
	Fail(ctx context.Context, t Task, cause string) error
	Release(ctx context.Context, kind, owner string) error
	Reap(ctx context.Context, kind string) error
}

// Handler works one task. It returns nil once it has settled the task itself (its settle
// transaction calls Complete). An error puts the task back to be tried again after the
// retry policy's delay, or fails it for good when the error is not worth retrying
// (retry.Retryable) or the policy's attempts are spent. ErrLeaseLost means another worker
// has the task now: nothing more is done.
type Handler func(ctx context.Context, t Task) error

// maxClaim bounds one claim, so a deep backlog is leased in short statements.
const maxClaim = 32

// Runner works the tasks of one kind, up to Concurrency at once. The number of tasks in
// flight is independent of the database pool: a handler holds a connection only for its
// short reads and its settle, never while it waits on the network.
type Runner struct {
	Kind        string
	Handle      Handler
	Store       Store
	Owner       string        // this process's name on its leases (NewOwner)
	Concurrency int           // handlers running at once
	Lease       time.Duration // how long a claim holds; renewed every Lease/3 while its handler runs
	Poll        time.Duration // how often to look for work nobody announced (due jobs, other processes)
	Grace       time.Duration // at shutdown, how long running handlers may still finish
	Retry       retry.Policy  // for a handler's errors
	Now         func() time.Time
	Log         *slog.Logger

	once     sync.Once
	wake     chan struct{}
	inFlight atomic.Int64
}

func (r *Runner) signal() chan struct{} {
	r.once.Do(func() { r.wake = make(chan struct{}, 1) })
	return r.wake
}

// Wake tells the runner that work may be waiting (a task was enqueued, the clock moved),
// so it claims at once instead of at its next poll. It never blocks.
func (r *Runner) Wake() {
	select {
	case r.signal() <- struct{}{}:
	default:
	}
}

// InFlight is the number of handlers running now.
func (r *Runner) InFlight() int { return int(r.inFlight.Load()) }

// Run claims and works tasks until ctx ends, then lets running handlers finish (up to
// Grace), cancels the rest and releases their leases.
func (r *Runner) Run(ctx context.Context) {
	log := r.Log.With("task_kind", r.Kind)
	// Handlers outlive ctx by Grace: a turn the agent is working on is worth finishing.
	handlerCtx, stopHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHandlers()
	var handlers sync.WaitGroup
	heartbeatDone := make(chan struct{})
	go func() {
		defer close(heartbeatDone)
		r.heartbeat(handlerCtx, log)
	}()
	for ctx.Err() == nil {
		free := r.Concurrency - r.InFlight()
		if free <= 0 {
			r.sleep(ctx, r.Poll) // a finishing handler wakes us
			continue
		}
		limit := min(free, maxClaim)
		tasks, err := r.Store.Claim(ctx, r.Kind, r.Owner, r.Now(), r.Lease, limit)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("claiming tasks failed", "error", err)
				r.sleep(ctx, time.Second/2+time.Duration(rand.Int64N(int64(time.Second))))
			}
			continue
		}
		for _, t := range tasks {
			r.inFlight.Add(1)
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				r.work(handlerCtx, t, log)
				r.inFlight.Add(-1)
				r.Wake() // a slot is free, and the task's lane may have a next one
			}()
		}
		if len(tasks) < limit {
			r.sleep(ctx, r.Poll) // nothing more is due now
		}
	}
	finished := make(chan struct{})
	go func() { handlers.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(r.Grace):
		log.Warn("stopping handlers still running at shutdown", "in_flight", r.InFlight())
		stopHandlers()
		<-finished
	}
	stopHandlers()
	<-heartbeatDone
	releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.Store.Release(releaseCtx, r.Kind, r.Owner); err != nil {
		log.Warn("releasing leases at shutdown failed; they will run out", "error", err)
	}
}

// work runs the handler on one task and records what its error means.
func (r *Runner) work(ctx context.Context, t Task, log *slog.Logger) {
	err := r.handle(ctx, t)
	if err == nil {
		return
	}
	log = log.With("task_id", t.ID, "ref", t.Ref, "attempt", t.Attempt, "error", err)
	if ctx.Err() != nil {
		return // cut short by shutdown: Release hands the task back
	}
	if errors.Is(err, ErrLeaseLost) {
		log.Warn("task lease lost, result dropped")
		return
	}
	settleCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var serr error
	if !retry.Retryable(err) || r.Retry.Last(t.Attempt) {
		log.Error("task failed for good")
		serr = r.Store.Fail(settleCtx, t, err.Error())
	} else {
		at := r.Now().Add(r.Retry.Delay(t.Attempt, err))
		log.Warn("task failed, will retry", "next_attempt_at", at)
		serr = r.Store.Retry(settleCtx, t, at, err.Error())
	}
	if serr != nil {
		log.Warn("recording the task's failure failed", "settle_error", serr)
	}
}

// handle runs the handler, turning a panic into an error so one bad task cannot take
// the process down with the others' leases.
func (r *Runner) handle(ctx context.Context, t Task) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.Handle(ctx, t)
}

// heartbeat renews this runner's leases while handlers run, and makes tasks whose lease
// ran out (their holder died) ready again, every Lease/3 until ctx ends.
func (r *Runner) heartbeat(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(max(r.Lease/3, time.Millisecond))
	defer tick.Stop()
	for {
		beatCtx, cancel := context.WithTimeout(ctx, r.Lease/3+time.Second)
		if r.InFlight() > 0 {
			if err := r.Store.Extend(beatCtx, r.Kind, r.Owner, r.Lease); err != nil && ctx.Err() == nil {
				log.Warn("renewing leases failed", "error", err)
			}
		}
		if err := r.Store.Reap(beatCtx, r.Kind); err != nil && ctx.Err() == nil {
			log.Warn("reaping expired leases failed", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sleep waits for d, a Wake, or the end of ctx.
func (r *Runner) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.signal():
	case <-t.C:
	}
}
