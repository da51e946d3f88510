package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Fault modes of the dev stack's agent fault switch.
const (
	FaultOK   = "ok"   // calls go through untouched
	FaultDown = "down" // every attempt fails as if the agent were unreachable
	FaultSlow = "slow" // every attempt waits Delay first, so a long delay hits the timeout
	// FaultInvalid lets every call reach the agent but cuts its answer in half, as a broken
	// proxy or an agent that no longer keeps the contract would: the integration guide's
	// "invalid response", decoded (and failed) by the real client.
	FaultInvalid = "invalid"
)

// ErrSimulatedDown is the error of an attempt made while the fault switch says "down".
// It counts as a network error, so retries, backoff and the fallback apology run for real.
var ErrSimulatedDown = errors.New("agent unreachable (simulated by the dev fault switch)")

// Fault is what the switch currently does to calls to the agent.
type Fault struct {
	Mode  string
	Delay time.Duration
}

// Faults is the dev stack's switch for making the agent look down or slow without
// stopping it. Safe for concurrent use; the zero value lets every call through.
type Faults struct {
	mu    sync.Mutex
	fault Fault
}

// Set replaces the current fault; it applies to the next attempt.
func (f *Faults) Set(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

// Get returns the current fault ("ok" when none is set).
func (f *Faults) Get() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fault.Mode == "" {
		return Fault{Mode: FaultOK}
	}
	return f.fault
}

// mangles tells whether answers are to be cut (FaultInvalid).
func (f *Faults) mangles() bool { return f != nil && f.Get().Mode == FaultInvalid }

// apply runs before each attempt: it fails the attempt, delays it, or does nothing. A
// delay longer than the attempt's timeout ends as that timeout would.
func (f *Faults) apply(ctx context.Context, timeout time.Duration) error {
	if f == nil {
		return nil
	}
	fault := f.Get()
	switch fault.Mode {
	case FaultDown:
		return ErrSimulatedDown
	case FaultSlow:
		wait := fault.Delay
		if timeout > 0 && wait >= timeout {
			if err := sleep(ctx, timeout); err != nil {
				return err
			}
			return fmt.Errorf("agent timed out after %s (simulated slowness of %s)", timeout, fault.Delay)
		}
		return sleep(ctx, wait)
	}
	return nil
}
