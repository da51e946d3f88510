package inbound

import (
	"context"
	"time"
)

// Signal wakes sleeping loops at once when new work is committed; loops also poll, so a
// lost signal (or work committed by another process) only costs a poll interval.
type Signal chan struct{}

// NewSignal makes a Signal.
func NewSignal() Signal { return make(Signal, 1) }

// Wake wakes one waiting loop without blocking.
func (s Signal) Wake() {
	select {
	case s <- struct{}{}:
	default:
	}
}

// Sleep waits for d, a Wake, or the end of ctx, whichever comes first. A nil Signal
// never wakes early.
func (s Signal) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s:
	case <-t.C:
	}
}
