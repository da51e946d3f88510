// Package shadow runs the primary's turns again at the candidate, in shadow, and compares
// the answers the way Twitter's Diffy compares services: every difference is found, and
// where the primary asked a second time (the secondary) differs from itself the same
// way, that difference is noise, not the candidate's.
//
// A shadow turn never touches the reply: it starts after the primary has answered, runs
// in its own goroutine under its own timeout, and is dropped when too many are in flight.
// It carries the marker X-PromptPipe-Shadow: true and the conversation as it was before
// the turn (shadow_state, from the primary's comparison), and the agent then runs it on
// that copy, saves nothing and calls no delivery API (docs/migration.md, the contract).
package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
)

// ErrNotShadowed is a shadow answer that does not say it was one: the agent ignored the
// marker, so it may have saved the turn. Loud in the log; counted as the candidate's error.
var ErrNotShadowed = errors.New("the agent did not answer as a shadow (metadata.shadow is not true): it may not honour the marker")

// Caller makes one attempt at an agent (agent.Client, with the shadow marker set:
// agent.MarkShadow).
type Caller interface {
	ProcessMessage(ctx context.Context, req agent.ProcessMessageRequest) (*agent.ProcessMessageResponse, error)
	ProcessEvent(ctx context.Context, req agent.ProcessEventRequest) (*agent.ProcessMessageResponse, error)
}

// Shadower runs shadow turns and books their comparisons.
type Shadower struct {
	Candidate Caller
	Secondary Caller // nil: the primary is not asked twice
	Timeout   time.Duration
	Book      *Book
	Metrics   *metrics.Migration
	Events    *devevents.Feed // dev stack: each comparison, for the simulator's event log
	Log       *slog.Logger
	Now       func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup
}

// Start readies the shadower: at most limit shadow turns in flight; Close ends them.
func (s *Shadower) Start(limit int) {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.slots = make(chan struct{}, limit)
}

// Close cancels the shadow turns in flight and waits for them.
func (s *Shadower) Close() {
	s.cancel()
	s.wg.Wait()
}

// comparison is what the primary returns in metadata.compare.
type comparison struct {
	StateBefore json.RawMessage `json:"state_before"`
	ToolCalls   []ToolCall      `json:"tool_calls"`
}

type stateBefore struct {
	SubState string `json:"sub_state"`
}

// Message shadows a message turn the primary answered.
func (s *Shadower) Message(req agent.ProcessMessageRequest, primary *agent.ProcessMessageResponse, took time.Duration, raw json.RawMessage) {
	s.shadow(req.ParticipantID, "message", req.Message, primary, took, raw,
		func(ctx context.Context, c Caller, state json.RawMessage) (*agent.ProcessMessageResponse, error) {
			r := req
			r.ShadowState = state
			return c.ProcessMessage(ctx, r)
		})
}

// Event shadows a due event the primary answered.
func (s *Shadower) Event(req agent.ProcessEventRequest, primary *agent.ProcessMessageResponse, took time.Duration, raw json.RawMessage) {
	s.shadow(req.ParticipantID, "event:"+req.Kind, req.Kind, primary, took, raw,
		func(ctx context.Context, c Caller, state json.RawMessage) (*agent.ProcessMessageResponse, error) {
			r := req
			r.ShadowState = state
			return c.ProcessEvent(ctx, r)
		})
}

type call func(ctx context.Context, c Caller, state json.RawMessage) (*agent.ProcessMessageResponse, error)

func (s *Shadower) shadow(participantID, turn, input string, primary *agent.ProcessMessageResponse, took time.Duration, raw json.RawMessage, do call) {
	var cmp comparison
	if len(raw) == 0 || json.Unmarshal(raw, &cmp) != nil || len(cmp.StateBefore) == 0 {
		// A repeated message answered from the primary's record has no state before it.
		s.Metrics.ShadowComparisons.WithLabelValues("skipped").Inc()
		return
	}
	select {
	case s.slots <- struct{}{}:
	default: // the candidate is not keeping up; the reply path must not wait for it
		s.Metrics.ShadowComparisons.WithLabelValues("skipped").Inc()
		s.Log.Warn("shadow turn dropped: too many in flight", "participant_id", participantID)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		var before stateBefore
		_ = json.Unmarshal(cmp.StateBefore, &before)
		p := SideOf(primary, took, nil)
		p.ToolCalls = cmp.ToolCalls
		c := Comparison{At: s.Now(), ParticipantID: participantID, Turn: turn, Input: input,
			SubState: before.SubState, Primary: p}
		var wg sync.WaitGroup
		if s.Secondary != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				side := s.run(s.Secondary, "secondary", cmp.StateBefore, do)
				c.Secondary = &side
			}()
		}
		c.Candidate = s.run(s.Candidate, "candidate", cmp.StateBefore, do)
		wg.Wait()
		if s.ctx.Err() != nil {
			return // shutting down: a cancelled call says nothing about the candidate
		}
		c.Result = Compare(c.Primary, c.Candidate, c.Secondary)
		s.book(s.Book.Add(c))
	}()
}

// run makes one shadow call and reads its answer.
func (s *Shadower) run(c Caller, who string, state json.RawMessage, do call) Side {
	ctx, cancel := context.WithTimeout(s.ctx, s.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := do(ctx, c, state)
	took := time.Since(start)
	s.Metrics.ShadowDuration.WithLabelValues(who).Observe(took.Seconds())
	if err == nil && resp.Metadata["shadow"] != true {
		s.Log.Error("shadow call not answered as a shadow", "arm", who, "error", ErrNotShadowed)
		err = ErrNotShadowed
	}
	side := SideOf(resp, took, err)
	if err == nil {
		side.ToolCalls = toolCallsOf(resp.Metadata)
	}
	return side
}

func toolCallsOf(metadata map[string]any) []ToolCall {
	raw, err := json.Marshal(metadata["compare"])
	if err != nil {
		return nil
	}
	var cmp comparison
	_ = json.Unmarshal(raw, &cmp)
	return cmp.ToolCalls
}

func (s *Shadower) book(c Comparison) {
	s.Metrics.ShadowComparisons.WithLabelValues(c.Outcome).Inc()
	if c.Outcome != Failed {
		s.Metrics.ShadowSimilarity.Observe(c.Similarity)
	}
	kinds := []string{}
	for _, d := range c.Differences {
		if !d.Noise {
			s.Metrics.ShadowDifferences.WithLabelValues(d.Kind).Inc()
			kinds = append(kinds, d.Kind)
		}
	}
	s.Events.Record("shadow.compared", map[string]any{
		"participant_id": c.ParticipantID, "turn": c.Turn, "outcome": c.Outcome,
		"similarity": c.Similarity, "differences": kinds, "comparison_id": c.ID,
	})
}
