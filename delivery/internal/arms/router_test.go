package arms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/metrics"
)

func TestBucketIsStickyAndSpreadsParticipants(t *testing.T) {
	counts := make([]int, 10)
	for i := range 2000 {
		id := fmt.Sprintf("p_%032x", i*7919)
		b := Bucket(id)
		if b != Bucket(id) || b < 0 || b > 99 {
			t.Fatalf("bucket of %s = %d, then %d", id, b, Bucket(id))
		}
		counts[b/10]++
		// Raising the percentage only ever moves a participant to the candidate.
		was := Primary
		for p := 0; p <= 100; p += 5 {
			arm := ArmOf(id, p)
			if was == Candidate && arm != Candidate {
				t.Fatalf("%s went back to the primary at %d %%", id, p)
			}
			was = arm
		}
		if ArmOf(id, 0) != Primary || ArmOf(id, 100) != Candidate {
			t.Fatalf("%s: 0 %% and 100 %% must be all primary, all candidate", id)
		}
	}
	for decile, n := range counts { // 200 expected in each
		if n < 140 || n > 260 {
			t.Errorf("decile %d has %d of 2000 participants", decile, n)
		}
	}
}

// scripted is an arm at the edge of the router: it answers, or fails, as told.
type scripted struct {
	name  string
	fail  error
	calls int
	meta  map[string]any
}

func (s *scripted) answer() (*agent.ProcessMessageResponse, error) {
	s.calls++
	if s.fail != nil {
		return nil, s.fail
	}
	meta := map[string]any{"by": s.name}
	for k, v := range s.meta {
		meta[k] = v
	}
	return &agent.ProcessMessageResponse{Response: "from " + s.name, State: "INTAKE", Metadata: meta}, nil
}

func (s *scripted) ProcessMessageWithRetry(context.Context, agent.ProcessMessageRequest, int) (*agent.ProcessMessageResponse, error) {
	return s.answer()
}

func (s *scripted) ProcessEventWithRetry(context.Context, agent.ProcessEventRequest, int) (*agent.ProcessMessageResponse, error) {
	return s.answer()
}

type switches struct {
	percent int
	shadow  bool
}

func (s switches) Percent() int    { return s.percent }
func (s switches) Shadowing() bool { return s.shadow }

type shadowCall struct {
	participant string
	compare     json.RawMessage
	response    string
}

type recordingShadow struct{ calls []shadowCall }

func (r *recordingShadow) Message(req agent.ProcessMessageRequest, p *agent.ProcessMessageResponse, _ time.Duration, c json.RawMessage) {
	r.calls = append(r.calls, shadowCall{req.ParticipantID, c, p.Response})
}

func (r *recordingShadow) Event(req agent.ProcessEventRequest, p *agent.ProcessMessageResponse, _ time.Duration, c json.RawMessage) {
	r.calls = append(r.calls, shadowCall{req.ParticipantID, c, p.Response})
}

func newRouter(sw switches) (*Router, *scripted, *scripted, *scripted, *recordingShadow) {
	primary := &scripted{name: "primary"}
	comparing := &scripted{name: "primary", meta: map[string]any{"compare": map[string]any{"state_before": map[string]any{"sub_state": "INTAKE"}}}}
	candidate := &scripted{name: "candidate"}
	sh := &recordingShadow{}
	r := &Router{Primary: primary, Comparing: comparing, Candidate: candidate, Switches: sw, Shadow: sh,
		Stats: NewStats(100), Metrics: metrics.New().NewMigration(), Now: time.Now, Apology: "sorry"}
	return r, primary, comparing, candidate, sh
}

// idsOn finds participant ids on each side of a percentage.
func idsOn(percent int) (candidate, primary string) {
	for i := 0; candidate == "" || primary == ""; i++ {
		id := fmt.Sprintf("p_%d", i)
		if Bucket(id) < percent {
			candidate = id
		} else {
			primary = id
		}
	}
	return candidate, primary
}

func TestRouterServesEachParticipantFromTheirArmAndMarksTheAnswer(t *testing.T) {
	r, primary, _, candidate, sh := newRouter(switches{percent: 30})
	onCandidate, onPrimary := idsOn(30)
	resp, err := r.ProcessMessageWithRetry(context.Background(), agent.ProcessMessageRequest{ParticipantID: onCandidate}, 3)
	if err != nil || resp.Response != "from candidate" || resp.Arm != Candidate {
		t.Fatalf("candidate's participant got %+v, %v", resp, err)
	}
	resp, err = r.ProcessEventWithRetry(context.Background(), agent.ProcessEventRequest{ParticipantID: onPrimary, Kind: "daily_prompt"}, 3)
	if err != nil || resp.Response != "from primary" || resp.Arm != Primary {
		t.Fatalf("primary's participant got %+v, %v", resp, err)
	}
	if primary.calls != 1 || candidate.calls != 1 || len(sh.calls) != 0 {
		t.Fatalf("calls: primary %d, candidate %d, shadow %d", primary.calls, candidate.calls, len(sh.calls))
	}
	if got := testutil.ToFloat64(r.Metrics.ArmRequests.WithLabelValues(Candidate, "success")); got != 1 {
		t.Fatalf("candidate successes = %v", got)
	}
	if s := r.Stats.Summary(Candidate, time.Time{}); s.Requests != 1 || s.Errors != 0 {
		t.Fatalf("candidate summary = %+v", s)
	}
}

func TestShadowGetsThePrimarysTurnsWithTheComparisonTakenOutOfTheAnswer(t *testing.T) {
	r, primary, comparing, _, sh := newRouter(switches{percent: 30, shadow: true})
	onCandidate, onPrimary := idsOn(30)
	resp, err := r.ProcessMessageWithRetry(context.Background(), agent.ProcessMessageRequest{ParticipantID: onPrimary}, 3)
	if err != nil || resp.Arm != Primary {
		t.Fatal(resp, err)
	}
	if _, found := resp.Metadata["compare"]; found {
		t.Fatal("the comparison went on with the answer")
	}
	if primary.calls != 0 || comparing.calls != 1 || len(sh.calls) != 1 || sh.calls[0].participant != onPrimary {
		t.Fatalf("primary %d, comparing %d, shadow %+v", primary.calls, comparing.calls, sh.calls)
	}
	var c struct {
		StateBefore map[string]any `json:"state_before"`
	}
	if err := json.Unmarshal(sh.calls[0].compare, &c); err != nil || c.StateBefore["sub_state"] != "INTAKE" {
		t.Fatalf("shadow got comparison %s", sh.calls[0].compare)
	}
	// The candidate's own participants are not shadowed: there is nothing to compare with.
	if _, err := r.ProcessMessageWithRetry(context.Background(), agent.ProcessMessageRequest{ParticipantID: onCandidate}, 3); err != nil {
		t.Fatal(err)
	}
	// Nor is a turn the primary failed.
	comparing.fail = errors.New("agent down")
	if _, err := r.ProcessMessageWithRetry(context.Background(), agent.ProcessMessageRequest{ParticipantID: onPrimary}, 3); err == nil {
		t.Fatal("the failure was lost")
	}
	if len(sh.calls) != 1 {
		t.Fatalf("shadowed %d turns", len(sh.calls))
	}
}

func TestWithoutACandidateEveryoneIsOnThePrimary(t *testing.T) {
	r, primary, _, _, sh := newRouter(switches{percent: 100, shadow: true})
	r.Candidate = nil
	onCandidate, _ := idsOn(50)
	resp, err := r.ProcessMessageWithRetry(context.Background(), agent.ProcessMessageRequest{ParticipantID: onCandidate}, 3)
	if err != nil || resp.Arm != Primary || primary.calls != 1 || len(sh.calls) != 0 {
		t.Fatalf("got %+v, %v; primary calls %d, shadow %d", resp, err, primary.calls, len(sh.calls))
	}
}

func TestFailedTurnsCountAgainstTheirArmAndFallBack(t *testing.T) {
	r, _, _, candidate, _ := newRouter(switches{percent: 100})
	candidate.fail = errors.New("down")
	req := agent.ProcessMessageRequest{ParticipantID: "p_x", Message: "Done"}
	if _, err := r.ProcessMessageWithRetry(context.Background(), req, 3); err == nil {
		t.Fatal("no error")
	}
	if s := r.Stats.Summary(Candidate, time.Time{}); s.Errors != 1 || s.ErrorRate != 1 {
		t.Fatalf("summary = %+v", s)
	}
	if got := r.Fallback(req); got.Response != "sorry" || got.Arm != Fallback {
		t.Fatalf("apology fallback = %+v", got)
	}
	r.Responder = func(agent.ProcessMessageRequest) agent.ProcessMessageResponse {
		return agent.ProcessMessageResponse{Response: "nice work", State: "FALLBACK"}
	}
	if got := r.Fallback(req); got.Response != "nice work" || got.Arm != Fallback {
		t.Fatalf("responder fallback = %+v", got)
	}
	if testutil.ToFloat64(r.Metrics.Fallbacks.WithLabelValues("apology")) != 1 || testutil.ToFloat64(r.Metrics.Fallbacks.WithLabelValues("responder")) != 1 {
		t.Fatal("fallbacks not counted")
	}
}

func TestSummaryPercentilesAndWindow(t *testing.T) {
	s := NewStats(5)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 7; i++ { // the ring keeps the last five: 3..7
		s.Add(Turn{At: start.Add(time.Duration(i) * time.Minute), Arm: Candidate, OK: i != 7, Latency: time.Duration(i) * 100 * time.Millisecond, State: "INTAKE"})
	}
	all := s.Summary(Candidate, time.Time{})
	if all.Requests != 5 || all.Errors != 1 || all.P50MS != 500 || all.P99MS != 700 {
		t.Fatalf("all = %+v", all)
	}
	if w := s.Summary(Candidate, start.Add(6*time.Minute)); w.Requests != 2 || w.ErrorRate != 0.5 {
		t.Fatalf("window = %+v", w)
	}
	if p := s.Summary(Primary, time.Time{}); p.Requests != 0 {
		t.Fatalf("primary = %+v", p)
	}
	if st := s.States(); st["INTAKE"] != 4 {
		t.Fatalf("states = %v", st)
	}
}

func TestEngagementCountsPromptsAndAnswersPerArm(t *testing.T) {
	r, _, _, _, _ := newRouter(switches{percent: 0})
	ctx := context.Background()
	for _, kind := range []string{"daily_prompt", "daily_prompt", "reminder"} {
		if _, err := r.ProcessEventWithRetry(ctx, agent.ProcessEventRequest{ParticipantID: "p_1", Kind: kind}, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, said := range []string{"Done", "Next time", "STOP", "what?"} {
		if _, err := r.ProcessMessageWithRetry(ctx, agent.ProcessMessageRequest{ParticipantID: "p_1", Message: said}, 1); err != nil {
			t.Fatal(err)
		}
	}
	e := r.Stats.Engagement()[Primary]
	if e.DailyPrompts != 2 || e.Messages != 4 || e.Done != 1 || e.NextTime != 1 || e.Stop != 1 || e.DoneRatio != 0.5 {
		t.Fatalf("engagement = %+v", e)
	}
	if testutil.ToFloat64(r.Metrics.Answers.WithLabelValues(Primary, "stop")) != 1 || testutil.ToFloat64(r.Metrics.DailyPrompts.WithLabelValues(Primary)) != 2 {
		t.Fatal("not counted in Prometheus")
	}
}
