// Package rollout moves participants from the primary agent to the candidate the way
// Flagger moves traffic to a canary: in steps, one step per interval of delivery's
// (virtual) clock, each step judged against thresholds (the candidate's error rate, its
// p99 latency, its agreement with the primary in shadow). A breached threshold halts the
// rollout and puts everyone back on the primary at once; promote and rollback do the
// same by hand. The state and every event are stored, so a restart carries on.
//
// Time travel runs a whole rollout in seconds: the controller looks at the clock each
// second and at every move of it. A jump over several intervals takes one step, because
// the traffic the next step would be judged by has not happened yet.
package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"promptpipe/delivery/internal/arms"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/shadow"
	"promptpipe/delivery/internal/store"
)

// Statuses of a rollout.
const (
	Idle        = "idle"        // no rollout has run; the percentage is as configured
	Progressing = "progressing" // stepping up
	Succeeded   = "succeeded"   // reached its maximum and passed the last check there
	Halted      = "halted"      // a threshold was breached: back to 0 %
	Promoted    = "promoted"    // promoted by hand: 100 %
	RolledBack  = "rolled_back" // rolled back by hand: 0 %
)

// Thresholds judge a step; a zero value is not checked.
type Thresholds struct {
	ErrorRate   float64 `json:"error_rate"`   // highest share of failed candidate turns, 0 to 1
	P99MS       float64 `json:"p99_ms"`       // highest p99 of the candidate's turns
	Agreement   float64 `json:"agreement"`    // lowest share of shadow turns agreeing, 0 to 1
	MinRequests int     `json:"min_requests"` // candidate turns a step needs before it is judged
	MinCompared int     `json:"min_compared"` // shadow comparisons the agreement needs
}

// Plan is a rollout as asked for: POST /dev/migration/rollout.
type Plan struct {
	Step       int        `json:"step"`     // percentage points per step
	Interval   Duration   `json:"interval"` // of delivery's clock, between steps
	Max        int        `json:"max"`      // where it stops
	Thresholds Thresholds `json:"thresholds"`
}

// DefaultPlan fills what a request leaves out. A step is judged by what traffic it had:
// with none (min_requests 0) it passes, as a quiet hour breaks nothing; a plan that must
// see the candidate at work before it moves on asks for min_requests.
var DefaultPlan = Plan{Step: 20, Interval: Duration(time.Hour), Max: 100,
	Thresholds: Thresholds{ErrorRate: 0.05, P99MS: 5000, MinRequests: 0, MinCompared: 1}}

// Validate says what is wrong with a plan, in words for the caller.
func (p Plan) Validate() error {
	switch {
	case p.Step < 1 || p.Step > 100:
		return errors.New("step must be between 1 and 100 percentage points")
	case p.Max < 1 || p.Max > 100:
		return errors.New("max must be between 1 and 100")
	case time.Duration(p.Interval) <= 0:
		return errors.New("interval must be a positive duration such as 1h")
	case p.Thresholds.ErrorRate < 0 || p.Thresholds.ErrorRate > 1, p.Thresholds.Agreement < 0 || p.Thresholds.Agreement > 1:
		return errors.New("thresholds.error_rate and thresholds.agreement must be between 0 and 1")
	case p.Thresholds.P99MS < 0 || p.Thresholds.MinRequests < 0 || p.Thresholds.MinCompared < 0:
		return errors.New("thresholds.p99_ms, min_requests and min_compared must not be negative")
	}
	return nil
}

// State is the rollout as stored.
type State struct {
	Percent       int       `json:"percent"`
	Shadow        bool      `json:"shadow"`
	Status        string    `json:"status"`
	Plan          *Plan     `json:"plan,omitempty"`
	StepStartedAt time.Time `json:"step_started_at"` // the current step's window starts here
	Reason        string    `json:"reason,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
	// What AGENT_ROLLOUT_PERCENT and AGENT_SHADOW said when this state was made: an
	// operator who changes them means it, and they win over the stored state at start.
	EnvPercent int  `json:"env_percent"`
	EnvShadow  bool `json:"env_shadow"`
}

// NextStepAt is when the current step's interval is over (zero unless progressing).
func (s State) NextStepAt() time.Time {
	if s.Status != Progressing || s.Plan == nil {
		return time.Time{}
	}
	return s.StepStartedAt.Add(time.Duration(s.Plan.Interval))
}

// Store keeps the state and the event log.
type Store interface {
	LoadRollout(ctx context.Context) ([]byte, error)
	SaveRollout(ctx context.Context, state []byte, e *store.RolloutEvent) error
}

// Controller owns the rollout. Percent and Shadowing are read on every turn, without a lock.
type Controller struct {
	Store   Store
	Stats   *arms.Stats
	Book    *shadow.Book
	Metrics *metrics.Migration
	Events  *devevents.Feed
	Log     *slog.Logger
	Now     func() time.Time

	mu        sync.Mutex
	state     State
	percent   atomic.Int32
	shadowing atomic.Bool
	wake      chan struct{}
}

// ErrNoRollout refuses a step, promote or rollback there is nothing to apply it to.
var ErrNoRollout = errors.New("no rollout is progressing")

// Load reads the stored state, or starts from the configuration; a configuration changed
// since the state was stored wins (and is logged as an "env" event).
func (c *Controller) Load(ctx context.Context, envPercent int, envShadow bool) error {
	c.wake = make(chan struct{}, 1)
	raw, err := c.Store.LoadRollout(ctx)
	if err != nil {
		return err
	}
	s := State{Percent: envPercent, Shadow: envShadow, Status: Idle, EnvPercent: envPercent, EnvShadow: envShadow}
	var event *store.RolloutEvent
	if raw != nil {
		var stored State
		if err := json.Unmarshal(raw, &stored); err != nil {
			return fmt.Errorf("reading stored rollout: %w", err)
		}
		s = stored
		if stored.EnvPercent != envPercent || stored.EnvShadow != envShadow {
			s = State{Percent: envPercent, Shadow: envShadow, Status: Idle, EnvPercent: envPercent, EnvShadow: envShadow,
				Reason: "AGENT_ROLLOUT_PERCENT or AGENT_SHADOW changed"}
			event = &store.RolloutEvent{Kind: "env", Detail: map[string]any{"shadow": envShadow}}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if raw == nil || event != nil {
		if err := c.save(ctx, s, event); err != nil {
			return err
		}
	}
	c.apply(s)
	return nil
}

// Percent is the candidate's share of participants now.
func (c *Controller) Percent() int { return int(c.percent.Load()) }

// Shadowing tells whether the primary's turns are shadowed now.
func (c *Controller) Shadowing() bool { return c.shadowing.Load() }

// State is the rollout now.
func (c *Controller) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Start begins a rollout: the first step at once, from the current percentage.
func (c *Controller) Start(ctx context.Context, p Plan) (State, error) {
	if err := p.Validate(); err != nil {
		return State{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Plan, s.Status, s.Reason = &p, Progressing, ""
	s.Percent = min(p.Max, max(s.Percent, 0)+p.Step)
	s.StepStartedAt = c.Now()
	err := c.save(ctx, s, &store.RolloutEvent{Kind: "started", Detail: map[string]any{
		"step": p.Step, "interval": p.Interval.String(), "max": p.Max, "thresholds": p.Thresholds}})
	return c.state, err
}

// Promote gives the candidate everyone, ending any rollout.
func (c *Controller) Promote(ctx context.Context) (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Percent, s.Status, s.Reason = 100, Promoted, "promoted by hand"
	err := c.save(ctx, s, &store.RolloutEvent{Kind: "promoted"})
	return c.state, err
}

// Rollback gives the primary everyone, ending any rollout.
func (c *Controller) Rollback(ctx context.Context, reason string) (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Percent, s.Status, s.Reason = 0, RolledBack, reason
	err := c.save(ctx, s, &store.RolloutEvent{Kind: "rolled_back", Detail: map[string]any{"reason": reason}})
	return c.state, err
}

// SetShadow switches shadow mode.
func (c *Controller) SetShadow(ctx context.Context, on bool) (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Shadow = on
	err := c.save(ctx, s, &store.RolloutEvent{Kind: "shadow", Detail: map[string]any{"enabled": on}})
	return c.state, err
}

// Wake asks for a check now (the clock moved).
func (c *Controller) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run checks the rollout every second and at every Wake, until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.wake:
		}
		if err := c.Check(ctx); err != nil && ctx.Err() == nil {
			c.Log.Error("rollout check failed", "error", err)
		}
	}
}

// Check judges the current step: a breached threshold halts the rollout at once; once
// the step's interval is over it takes the next step, or ends at the maximum.
func (c *Controller) Check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	if s.Status != Progressing || s.Plan == nil {
		return nil
	}
	now := c.Now()
	figures := c.Stats.Summary(arms.Candidate, s.StepStartedAt)
	agreement := c.Book.Since(s.StepStartedAt)
	if breach := s.Plan.Thresholds.breached(figures, agreement); breach != "" {
		detail := map[string]any{"reason": breach, "at_percent": s.Percent, "candidate": figures, "agreement": agreement}
		s.Percent, s.Status, s.Reason = 0, Halted, breach
		return c.save(ctx, s, &store.RolloutEvent{Kind: "halted", Detail: detail})
	}
	if now.Before(s.NextStepAt()) || figures.Requests < s.Plan.Thresholds.MinRequests {
		return nil // the step goes on (or waits for traffic to judge it by)
	}
	detail := map[string]any{"candidate": figures, "agreement": agreement, "from": s.Percent}
	if s.Percent >= s.Plan.Max {
		s.Status, s.Reason = Succeeded, fmt.Sprintf("reached %d %% and passed its checks", s.Percent)
		return c.save(ctx, s, &store.RolloutEvent{Kind: "succeeded", Detail: detail})
	}
	s.Percent = min(s.Plan.Max, s.Percent+s.Plan.Step)
	s.StepStartedAt = now
	return c.save(ctx, s, &store.RolloutEvent{Kind: "step", Detail: detail})
}

// breached names the first threshold the figures break, or "".
func (t Thresholds) breached(f arms.Summary, a shadow.Agreement) string {
	if f.Requests >= max(t.MinRequests, 1) {
		if t.ErrorRate > 0 && f.ErrorRate > t.ErrorRate {
			return fmt.Sprintf("candidate error rate %.1f %% is above %.1f %% (%d of %d turns failed)",
				100*f.ErrorRate, 100*t.ErrorRate, f.Errors, f.Requests)
		}
		if t.P99MS > 0 && f.P99MS > t.P99MS {
			return fmt.Sprintf("candidate p99 latency %.0f ms is above %.0f ms", f.P99MS, t.P99MS)
		}
	}
	if t.Agreement > 0 && a.Compared >= max(t.MinCompared, 1) && a.Rate < t.Agreement {
		return fmt.Sprintf("agreement with the primary %.0f %% is below %.0f %% (%d of %d shadow turns)",
			100*a.Rate, 100*t.Agreement, a.Agreed, a.Compared)
	}
	return ""
}

// save stores s with its event and makes it current; the caller holds mu.
func (c *Controller) save(ctx context.Context, s State, e *store.RolloutEvent) error {
	s.UpdatedAt = c.Now()
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if e != nil {
		e.At, e.Percent = s.UpdatedAt, s.Percent
	}
	if err := c.Store.SaveRollout(ctx, raw, e); err != nil {
		return err
	}
	c.apply(s)
	if e != nil {
		c.Metrics.RolloutEvents.WithLabelValues(e.Kind).Inc()
		data := map[string]any{"percent": s.Percent, "status": s.Status}
		for k, v := range e.Detail {
			data[k] = v
		}
		c.Events.Record("rollout."+e.Kind, data)
		level := slog.LevelInfo
		if e.Kind == "halted" {
			level = slog.LevelWarn
		}
		c.Log.Log(ctx, level, "rollout "+e.Kind, "percent", s.Percent, "status", s.Status, "reason", s.Reason)
	}
	return nil
}

// apply makes s current; the caller holds mu (or is Load).
func (c *Controller) apply(s State) {
	c.state = s
	c.percent.Store(int32(s.Percent))
	c.shadowing.Store(s.Shadow)
	c.Metrics.RolloutPercent.Set(float64(s.Percent))
	halted, shadowOn := 0.0, 0.0
	if s.Status == Halted {
		halted = 1
	}
	if s.Shadow {
		shadowOn = 1
	}
	c.Metrics.RolloutHalted.Set(halted)
	c.Metrics.ShadowEnabled.Set(shadowOn)
}

// Duration is a time.Duration that reads and writes as "1h30m" in JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "1h30m" (or a number of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return errors.New("a duration is a string such as \"1h\" or a number of seconds")
		}
		*d = Duration(time.Duration(secs * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"1h\"", s)
	}
	*d = Duration(v)
	return nil
}
