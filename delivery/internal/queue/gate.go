package queue

import (
	"context"
	"sync"
	"time"
)

// Gate pauses every Runner that shares it, so that the state can be saved or replaced
// with no work half-done (the dev stack's world save and load). Pause stops new claims
// and waits until the tasks already claimed have settled; Resume lets the runners claim
// again. A pause that nobody resumes (its caller died) lifts itself after its limit, so
// a crashed simulator cannot leave delivery stopped for good.
//
// A nil *Gate never pauses: that is how production runs.
type Gate struct {
	mu      sync.Mutex
	paused  bool
	busy    int           // claims under way plus handlers running
	resumed chan struct{} // closed while not paused
	idle    chan struct{} // closed when busy falls to zero during a pause
	lift    *time.Timer   // lifts an abandoned pause
}

// NewGate returns an open gate.
func NewGate() *Gate {
	g := &Gate{resumed: make(chan struct{})}
	close(g.resumed)
	return g
}

// Paused tells whether the gate is paused now.
func (g *Gate) Paused() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused
}

// Pause stops new claims and waits until every claimed task has been settled (or ctx
// ends: the gate stays paused, and the caller may Pause again to keep waiting). The
// pause lifts itself after limit unless Pause or Resume is called again before.
func (g *Gate) Pause(ctx context.Context, limit time.Duration) error {
	g.mu.Lock()
	if !g.paused {
		g.paused = true
		g.resumed = make(chan struct{})
		g.idle = make(chan struct{})
		if g.busy == 0 {
			close(g.idle)
		}
	}
	if g.lift != nil {
		g.lift.Stop()
	}
	g.lift = time.AfterFunc(limit, g.Resume)
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Resume lets the runners claim again; resuming an open gate does nothing.
func (g *Gate) Resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.paused {
		return
	}
	g.paused = false
	if g.lift != nil {
		g.lift.Stop()
		g.lift = nil
	}
	close(g.resumed)
}

// enter admits one claim, waiting while the gate is paused; false when ctx ended first.
func (g *Gate) enter(ctx context.Context) bool {
	if g == nil {
		return true
	}
	for {
		g.mu.Lock()
		if !g.paused {
			g.busy++
			g.mu.Unlock()
			return true
		}
		resumed := g.resumed
		g.mu.Unlock()
		select {
		case <-resumed:
		case <-ctx.Done():
			return false
		}
	}
}

// hold counts n claimed tasks as busy: the claim that got them was admitted, so they
// run even if a pause began meanwhile, and the pause waits for them.
func (g *Gate) hold(n int) {
	if g == nil || n == 0 {
		return
	}
	g.mu.Lock()
	g.busy += n
	g.mu.Unlock()
}

// leave ends one claim or one task.
func (g *Gate) leave() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	if g.busy == 0 && g.paused {
		select {
		case <-g.idle:
		default:
			close(g.idle)
		}
	}
}
