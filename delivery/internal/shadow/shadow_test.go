package shadow

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/metrics"
)

// candidateAgent is a scripted agent over real HTTP that records what shadow calls carry.
type candidateAgent struct {
	mu       sync.Mutex
	headers  []http.Header
	bodies   []map[string]any
	answer   map[string]any
	status   int
	release  chan struct{} // when set, answers wait for it
	answered chan struct{}
}

func (a *candidateAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	a.mu.Lock()
	a.headers = append(a.headers, r.Header.Clone())
	a.bodies = append(a.bodies, body)
	a.mu.Unlock()
	if a.release != nil {
		<-a.release
	}
	defer func() { a.answered <- struct{}{} }()
	if a.status != 0 {
		w.WriteHeader(a.status)
		return
	}
	_ = json.NewEncoder(w).Encode(a.answer)
}

func newShadower(t *testing.T, a *candidateAgent, limit int) *Shadower {
	t.Helper()
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := agent.NewClient(srv.URL, 2*time.Second, nil, log)
	c.Header = agent.MarkShadow()
	s := &Shadower{Candidate: c, Timeout: 2 * time.Second, Book: NewBook(10), Metrics: metrics.New().NewMigration(), Log: log, Now: time.Now}
	s.Start(limit)
	t.Cleanup(s.Close)
	return s
}

var primaryCompare = json.RawMessage(`{"state_before": {"sub_state": "INTAKE", "profile": {}, "flow": {}, "history": [], "turns": 0},
	"tool_calls": [{"name": "save_user_profile", "args": {"habit_domain": "sleep"}}]}`)

func primaryAnswer() *agent.ProcessMessageResponse {
	return &agent.ProcessMessageResponse{Response: "Got it. What time should I nudge you?", State: "INTAKE"}
}

func TestAShadowTurnCarriesTheMarkerAndTheStateAndIsCompared(t *testing.T) {
	a := &candidateAgent{answered: make(chan struct{}, 1), answer: map[string]any{
		"response": "What time should I nudge you?", "state": "INTAKE",
		"metadata": map[string]any{"shadow": true, "compare": map[string]any{
			"tool_calls": []any{map[string]any{"name": "save_user_profile", "args": map[string]any{"habit_domain": "sleep"}}}}},
	}}
	s := newShadower(t, a, 2)
	s.Message(agent.ProcessMessageRequest{ParticipantID: "p_1", Message: "sleep", PhoneNumber: "+1555", MessageID: "wamid.1"},
		primaryAnswer(), 120*time.Millisecond, primaryCompare)
	<-a.answered
	s.wg.Wait()
	if got := a.headers[0].Get(agent.ShadowHeader); got != "true" {
		t.Fatalf("marker = %q", got)
	}
	state, _ := a.bodies[0]["shadow_state"].(map[string]any)
	if state["sub_state"] != "INTAKE" || a.bodies[0]["message_id"] != "wamid.1" {
		t.Fatalf("shadow body = %v", a.bodies[0])
	}
	rep := s.Book.Report(5)
	if rep.Agreement.Compared != 1 || rep.Agreement.Agreed != 1 || rep.ByState["INTAKE"].Rate != 1 || len(rep.Latest) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	if c := rep.Latest[0]; c.Primary.ToolCalls[0].Name != "save_user_profile" || c.Candidate.ToolCalls[0].Name != "save_user_profile" || c.Similarity < TextAgreement {
		t.Fatalf("comparison = %+v", c)
	}
	if testutil.ToFloat64(s.Metrics.ShadowComparisons.WithLabelValues(Agree)) != 1 {
		t.Fatal("comparison not counted")
	}
}

func TestAnAgentThatIgnoresTheMarkerIsTheCandidatesError(t *testing.T) {
	a := &candidateAgent{answered: make(chan struct{}, 1), answer: map[string]any{
		"response": "Got it. What time should I nudge you?", "state": "INTAKE", "metadata": map[string]any{}}}
	s := newShadower(t, a, 2)
	s.Event(agent.ProcessEventRequest{ParticipantID: "p_1", Kind: "daily_prompt", EventID: "job@t"}, primaryAnswer(), time.Millisecond, primaryCompare)
	<-a.answered
	s.wg.Wait()
	rep := s.Book.Report(5)
	if rep.Outcomes[Failed] != 1 || rep.Latest[0].Turn != "event:daily_prompt" || rep.Differences[0].Kind != KindError {
		t.Fatalf("report = %+v", rep)
	}
}

func TestShadowTurnsNeverQueueBehindEachOther(t *testing.T) {
	a := &candidateAgent{answered: make(chan struct{}, 4), release: make(chan struct{}),
		answer: map[string]any{"response": "x", "state": "INTAKE", "metadata": map[string]any{"shadow": true}}}
	s := newShadower(t, a, 1)
	req := agent.ProcessMessageRequest{ParticipantID: "p_1", Message: "hi", PhoneNumber: "+1555"}
	s.Message(req, primaryAnswer(), time.Millisecond, primaryCompare) // takes the only slot
	s.Message(req, primaryAnswer(), time.Millisecond, primaryCompare) // dropped at once
	s.Message(req, primaryAnswer(), time.Millisecond, nil)            // nothing to compare with: skipped
	if got := testutil.ToFloat64(s.Metrics.ShadowComparisons.WithLabelValues("skipped")); got != 2 {
		t.Fatalf("skipped = %v", got)
	}
	close(a.release)
	<-a.answered
	s.wg.Wait()
	if n := len(a.bodies); n != 1 {
		t.Fatalf("the candidate got %d shadow calls", n)
	}
}
