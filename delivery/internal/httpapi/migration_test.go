package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/arms"
	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/fallback"
	"promptpipe/delivery/internal/httpapi"
	"promptpipe/delivery/internal/inbound"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/outbox"
	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/rollout"
	"promptpipe/delivery/internal/shadow"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// coachAgent is a scripted agent on the contract, over real HTTP, that answers as a shadow
// when marked and returns its comparison when asked, as the Python agent does.
type coachAgent struct {
	name   string
	mu     sync.Mutex
	served int // turns answered for real
	shadow int // turns answered in shadow
}

func (a *coachAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	_ = json.NewDecoder(r.Body).Decode(&req)
	meta := map[string]any{"participant_id": req["participant_id"]}
	shadowed := r.Header.Get(agent.ShadowHeader) == "true"
	if shadowed || r.Header.Get(agent.CompareHeader) == "true" {
		meta["compare"] = map[string]any{
			"state_before": map[string]any{"sub_state": "INTAKE", "profile": map[string]any{}, "flow": map[string]any{}, "history": []any{}, "turns": 0},
			"tool_calls":   []any{map[string]any{"name": "save_user_profile", "args": map[string]any{"habit_domain": "sleep"}}},
		}
	}
	a.mu.Lock()
	if shadowed {
		meta["shadow"] = true
		a.shadow++
	} else {
		a.served++
	}
	a.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"response": fmt.Sprintf("%s says: %v", a.name, req["message"]), "state": "INTAKE", "metadata": meta})
}

func (a *coachAgent) counts() (served, shadowed int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served, a.shadow
}

type armsHarness struct {
	*harness
	primary, candidate *coachAgent
	controller         *rollout.Controller
	candidateFaults    *agent.Faults
}

// newArmsHarness runs delivery's API, answering and sending with a primary and a
// candidate agent, wired as cmd/delivery wires them.
func newArmsHarness(t *testing.T) *armsHarness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, pgtest.NewMigratedDatabase(t, store.Migrate), 20)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	mm := m.NewMigration()
	clk, err := clock.New(ctx, db.Pool, true)
	if err != nil {
		t.Fatal(err)
	}
	events := devevents.NewFeed(100, clk.Now)
	wa := &fakeWhatsApp{keys: map[string]string{}}
	waServer := httptest.NewServer(wa)
	h := &armsHarness{primary: &coachAgent{name: "primary"}, candidate: &coachAgent{name: "candidate"}, candidateFaults: &agent.Faults{}}
	primaryServer, candidateServer := httptest.NewServer(h.primary), httptest.NewServer(h.candidate)
	client := func(url string, mm *metrics.Metrics, faults *agent.Faults, header http.Header) *agent.Client {
		c := agent.NewClient(url, 2*time.Second, mm, log)
		c.SetBackoff(time.Millisecond, 5*time.Millisecond)
		c.Now, c.Faults, c.Header = clk.Now, faults, header
		return c
	}
	stats, book := arms.NewStats(100), shadow.NewBook(100)
	h.controller = &rollout.Controller{Store: db, Stats: stats, Book: book, Metrics: mm, Events: events, Log: log, Now: clk.Now}
	if err := h.controller.Load(ctx, 0, false); err != nil {
		t.Fatal(err)
	}
	shadower := &shadow.Shadower{Timeout: 2 * time.Second, Book: book, Metrics: mm, Events: events, Log: log, Now: clk.Now,
		Candidate: client(candidateServer.URL, nil, h.candidateFaults, agent.MarkShadow())}
	shadower.Start(4)
	router := &arms.Router{Primary: client(primaryServer.URL, m, nil, nil), Comparing: client(primaryServer.URL, m, nil, agent.MarkCompare()),
		Candidate: client(candidateServer.URL, m, h.candidateFaults, nil), Switches: h.controller, Shadow: shadower,
		Stats: stats, Metrics: mm, Now: clk.Now, Apology: inbound.FallbackApology, Responder: fallback.Responder{}.Message}
	answerer := &inbound.Answerer{Messages: db, Agent: router, AgentAttempts: 2, Metrics: m, Log: log, Events: events, Fallback: router.Fallback}
	tasks, owner := queue.Postgres{Pool: db.Pool}, queue.NewOwner()
	runner := func(kind string, handle queue.Handler, policy retry.Policy) *queue.Runner {
		return &queue.Runner{Kind: kind, Handle: handle, Store: tasks, Owner: owner, Concurrency: 8, Lease: 10 * time.Second,
			Poll: 50 * time.Millisecond, Grace: time.Second, Retry: policy, Now: clk.Now, Log: log}
	}
	policy := retry.Policy{Attempts: 3, Base: 10 * time.Millisecond, Cap: 10 * time.Millisecond}
	answers := runner(store.TaskAnswer, answerer.Handle, policy)
	sender := &outbox.Sender{Outbox: db, WhatsApp: whatsapp.NewClient(waServer.URL+"/v21.0", phoneID, token), Retry: policy, Metrics: m, Log: log}
	sends := runner(store.TaskSend, sender.Handle, policy)
	answerer.Replied = sends.Wake
	srv := &httpapi.Server{Store: db, Metrics: m, Log: log, AppSecret: secret, VerifyToken: "verify",
		InboundWake: answers, OutboxWake: sends, JobsWake: sends, Clock: clk, Events: events, CandidateFaults: h.candidateFaults,
		Migration: &httpapi.Migration{Rollout: h.controller, Router: router, Stats: stats, Book: book, Candidate: true}}
	api := httptest.NewServer(srv.Routes())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){answers.Run, sends.Run, h.controller.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		shadower.Close()
		api.Close()
		for _, s := range []*httptest.Server{waServer, primaryServer, candidateServer} {
			s.Close()
		}
		db.Close()
	})
	h.harness = &harness{t: t, db: db, clock: clk, api: api, wa: wa}
	return h
}

func (h *armsHarness) say(phone, wamid, text string, replies int) {
	h.t.Helper()
	h.postSigned(inboundWebhook(phone, wamid, text))
	h.waitFor(fmt.Sprintf("reply %d", replies), func() bool { return len(h.wa.texts()) >= replies })
}

func (h *armsHarness) report() map[string]any {
	h.t.Helper()
	code, body := h.do("GET", "/dev/migration", nil, nil)
	if code != http.StatusOK {
		h.t.Fatalf("report: %d %v", code, body)
	}
	return body["result"].(map[string]any)
}

func (h *armsHarness) replyArms(participantID string) []string {
	h.t.Helper()
	msgs, err := h.db.ListMessages(context.Background(), participantID)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Direction == "outbound" && m.Arm != nil {
			out = append(out, *m.Arm)
		}
	}
	return out
}

func TestARolloutMovesParticipantsToTheCandidateAndEachReplyRecordsItsArm(t *testing.T) {
	h := newArmsHarness(t)
	id := h.enroll("15550007001")
	h.say("15550007001", "wamid.a1", "hello", 1)

	code, body := h.do("POST", "/dev/migration/rollout", map[string]any{"step": 100, "interval": "1h", "max": 100}, nil)
	if code != http.StatusOK || body["result"].(map[string]any)["percent"] != 100.0 {
		t.Fatalf("rollout: %d %v", code, body)
	}
	h.say("15550007001", "wamid.a2", "again", 2)
	if texts := h.wa.texts(); texts[0] != "primary says: hello" || texts[1] != "candidate says: again" {
		t.Fatalf("replies = %q", texts)
	}
	report := h.report()
	if p := report["participants"].([]any)[0].(map[string]any); p["id"] != id || p["arm"] != "candidate" {
		t.Fatalf("participant arm = %v", p)
	}
	armFigures := report["arms"].(map[string]any)
	if armFigures["primary"].(map[string]any)["requests"] != 1.0 || armFigures["candidate"].(map[string]any)["requests"] != 1.0 {
		t.Fatalf("arms = %v", armFigures)
	}

	h.do("POST", "/dev/migration/rollback", map[string]any{"reason": "enough"}, nil)
	h.say("15550007001", "wamid.a3", "back", 3)
	if got := h.replyArms(id); fmt.Sprint(got) != "[primary candidate primary]" {
		t.Fatalf("reply arms = %v", got)
	}
}

func TestACandidateThatFailsIsRolledBackAutomaticallyAndTheResponderAnswers(t *testing.T) {
	h := newArmsHarness(t)
	id := h.enroll("15550007002")
	h.do("POST", "/dev/migration/rollout", map[string]any{"step": 50, "max": 100, "interval": "10m",
		"thresholds": map[string]any{"error_rate": 0.2, "min_requests": 1}}, nil)
	h.do("POST", "/dev/migration/promote", nil, nil) // everyone on the candidate, whatever their bucket
	code, _ := h.do("PUT", "/dev/faults/agent/candidate", map[string]any{"mode": "down"}, nil)
	if code != http.StatusOK {
		t.Fatalf("candidate fault: %d", code)
	}
	// A promoted candidate is no longer judged; a new rollout from 100 % is.
	h.do("POST", "/dev/migration/rollout", map[string]any{"step": 10, "max": 100, "interval": "10m",
		"thresholds": map[string]any{"error_rate": 0.2, "min_requests": 1}}, nil)
	h.say("15550007002", "wamid.f1", "Done", 1)
	if got := h.wa.texts()[0]; got != fallback.DoneReply {
		t.Fatalf("fallback reply = %q", got)
	}
	h.waitFor("the automatic rollback", func() bool { return h.controller.State().Status == rollout.Halted })
	if h.controller.Percent() != 0 || h.controller.State().Reason == "" {
		t.Fatalf("after the halt: %+v", h.controller.State())
	}
	h.say("15550007002", "wamid.f2", "hi", 2)
	if got := h.wa.texts()[1]; got != "primary says: hi" {
		t.Fatalf("after the rollback the reply is %q", got)
	}
	if got := h.replyArms(id); fmt.Sprint(got) != "[fallback primary]" {
		t.Fatalf("reply arms = %v", got)
	}
	events := h.report()["events"].([]any)
	if events[0].(map[string]any)["kind"] != "halted" {
		t.Fatalf("latest event = %v", events[0])
	}
}

func TestShadowComparesOffTheReplysPathAndChangesNothingTheParticipantSees(t *testing.T) {
	h := newArmsHarness(t)
	h.enroll("15550007003")
	if code, _ := h.do("PUT", "/dev/migration/shadow", map[string]any{"enabled": true}, nil); code != http.StatusOK {
		t.Fatal(code)
	}
	h.say("15550007003", "wamid.s1", "sleep better", 1)
	h.waitFor("the comparison", func() bool {
		return h.report()["shadow"].(map[string]any)["agreement"].(map[string]any)["compared"] == 1.0
	})
	if texts := h.wa.texts(); len(texts) != 1 || texts[0] != "primary says: sleep better" {
		t.Fatalf("the participant saw %q", texts)
	}
	if served, shadowed := h.candidate.counts(); served != 0 || shadowed != 1 {
		t.Fatalf("candidate served %d, shadowed %d", served, shadowed)
	}
	latest := h.report()["shadow"].(map[string]any)["latest"].([]any)[0].(map[string]any)
	if latest["candidate"].(map[string]any)["response"] != "candidate says: sleep better" || latest["sub_state"] != "INTAKE" {
		t.Fatalf("comparison = %v", latest)
	}
	diffs := latest["differences"].([]any)
	if len(diffs) != 1 || diffs[0].(map[string]any)["kind"] != "text" {
		t.Fatalf("differences = %v", diffs)
	}
}

func TestMigrationRoutesRefuseBadInputAndChangeNothing(t *testing.T) {
	h := newArmsHarness(t)
	for _, body := range []any{
		"{not json",
		map[string]any{"step": 0},
		map[string]any{"interval": "soon"},
		map[string]any{"max": 150},
		map[string]any{"thresholds": map[string]any{"error_rate": 3}},
		map[string]any{"stepp": 10},
	} {
		code, resp := h.do("POST", "/dev/migration/rollout", body, nil)
		if code != http.StatusBadRequest || resp["status"] != "error" || resp["message"] == "" {
			t.Errorf("%v: %d %v", body, code, resp)
		}
	}
	if code, _ := h.do("PUT", "/dev/migration/shadow", map[string]any{}, nil); code != http.StatusBadRequest {
		t.Errorf("shadow without enabled: %d", code)
	}
	if code, _ := h.do("PUT", "/dev/faults/agent/candidate", map[string]any{"mode": "sideways"}, nil); code != http.StatusBadRequest {
		t.Errorf("bad candidate fault: %d", code)
	}
	// A rollback's reason is optional, but a string when given; the body an object.
	for _, body := range []any{map[string]any{"reason": nil}, map[string]any{"reason": 5}, "null", "[1]", "{not json"} {
		code, resp := h.do("POST", "/dev/migration/rollback", body, nil)
		if code != http.StatusBadRequest || resp["status"] != "error" || resp["message"] == "" {
			t.Errorf("rollback %v: %d %v", body, code, resp)
		}
	}
	if s := h.controller.State(); s.Status != rollout.Idle || s.Percent != 0 || s.Shadow {
		t.Fatalf("bad input changed the rollout: %+v", s)
	}
}

func TestTheGoFallbackAnswersTheGuidesClientOnTheAgentsContract(t *testing.T) {
	h := newArmsHarness(t)
	// The guide's rollback: PYTHON_AGENT_URL pointed at the Go fallback.
	c := agent.NewClient(h.api.URL+"/fallback", time.Second, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.ProcessMessage(context.Background(), agent.ProcessMessageRequest{ParticipantID: "p_1", Message: "Next time", PhoneNumber: "+15551234567"})
	if err != nil || resp.Response != fallback.NextTimeReply || resp.State != fallback.State {
		t.Fatalf("message: %+v, %v", resp, err)
	}
	ev, err := c.ProcessEvent(context.Background(), agent.ProcessEventRequest{ParticipantID: "p_1", PhoneNumber: "+15551234567", EventID: "j@t", Kind: "daily_prompt"})
	if err != nil || ev.Response != fallback.DailyPrompt || len(ev.Buttons) != 2 {
		t.Fatalf("event: %+v, %v", ev, err)
	}
	code, body := h.do("POST", "/fallback/process-message", map[string]any{"message": "hi"}, nil)
	if code != http.StatusUnprocessableEntity || body["error"].(map[string]any)["code"] != "invalid_request" {
		t.Fatalf("bad request: %d %v", code, body)
	}
}
