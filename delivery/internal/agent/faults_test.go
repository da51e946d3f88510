package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDownFaultFailsEveryAttemptThenClears(t *testing.T) {
	c, calls := scripted(t)
	c.Faults = &Faults{}
	c.Faults.Set(Fault{Mode: FaultDown})

	_, err := c.ProcessMessageWithRetry(context.Background(), req, 3)
	if !errors.Is(err, ErrSimulatedDown) || calls.Load() != 0 {
		t.Fatalf("down: err=%v calls=%d (want the simulated error and no call)", err, calls.Load())
	}

	c.Faults.Set(Fault{Mode: FaultOK})
	resp, err := c.ProcessMessageWithRetry(context.Background(), req, 3)
	if err != nil || resp.Response != "hi" || calls.Load() != 1 {
		t.Fatalf("ok again: resp=%v err=%v calls=%d", resp, err, calls.Load())
	}
}

func TestSlowFaultDelaysOrTimesOut(t *testing.T) {
	c, calls := scripted(t)
	c.Faults = &Faults{}

	c.Faults.Set(Fault{Mode: FaultSlow, Delay: time.Millisecond})
	if _, err := c.ProcessMessage(context.Background(), req); err != nil || calls.Load() != 1 {
		t.Fatalf("short delay: err=%v calls=%d (want the call to go through)", err, calls.Load())
	}

	// A delay at or past the attempt's timeout ends like a timeout, without a call.
	c.httpClient.Timeout = 5 * time.Millisecond
	c.Faults.Set(Fault{Mode: FaultSlow, Delay: time.Hour})
	_, err := c.ProcessMessageWithRetry(context.Background(), req, 2)
	if err == nil || calls.Load() != 1 {
		t.Fatalf("long delay: err=%v calls=%d (want a timeout and no new call)", err, calls.Load())
	}
}

func TestNoFaultsMeansUntouched(t *testing.T) {
	var f *Faults
	if err := f.apply(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if got := (&Faults{}).Get(); got.Mode != FaultOK {
		t.Fatalf("zero value mode = %q, want ok", got.Mode)
	}
}

func TestInvalidFaultCutsTheRealAnswer(t *testing.T) {
	c, calls := scripted(t)
	c.Faults = &Faults{}
	c.Faults.Set(Fault{Mode: FaultInvalid})
	_, err := c.ProcessMessage(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "decoding response") || calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d (want the agent called and its answer undecodable)", err, calls.Load())
	}
	c.Faults.Set(Fault{Mode: FaultOK})
	if _, err := c.ProcessMessage(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}
