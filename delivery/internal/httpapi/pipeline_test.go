package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/httpapi"
	"promptpipe/delivery/internal/inbound"
	"promptpipe/delivery/internal/jobs"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/outbox"
	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	secret  = "test-secret"
	token   = "wa-token"
	phoneID = "100000000000001"
)

// fakeWhatsApp is the Graph API at the edge: it records sends and honours Idempotency-Key.
type fakeWhatsApp struct {
	mu    sync.Mutex
	sends []map[string]any
	keys  map[string]string
	fail  int // answer this many sends with a 500 first
	// refuseText answers free-form sends with Meta's synchronous 131047, as it may.
	refuseText bool
	// Read receipts ({"status": "read"}) are kept apart from sends. readAnswer, when set,
	// is their HTTP status and body instead of Meta's success; readHang holds them until
	// the caller gives up.
	reads      []map[string]any
	readAnswer *struct {
		status int
		body   string
	}
	readHang bool
	// history is every receipt ("read:<wamid>") and send ("send:<text>") in arrival order.
	history []string
}

func (f *fakeWhatsApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+token || r.URL.Path != "/v21.0/"+phoneID+"/messages" {
		http.Error(w, `{"error":{"code":190,"message":"bad token"}}`, http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var payload map[string]any
	_ = json.Unmarshal(body, &payload)
	if payload["status"] == "read" {
		f.receipt(w, r, payload)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		http.Error(w, `{"error":{"code":1,"message":"unknown"}}`, http.StatusInternalServerError)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	wamid, seen := f.keys[key]
	if !seen {
		if f.refuseText && payload["type"] != "template" {
			http.Error(w, `{"error":{"code":131047,"type":"OAuthException","message":"(#131047) Re-engagement message"}}`, http.StatusBadRequest)
			return
		}
		f.sends = append(f.sends, payload)
		f.history = append(f.history, "send")
		wamid = fmt.Sprintf("wamid.out-%d", len(f.sends))
		f.keys[key] = wamid
	}
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":%q}]}`, wamid)
}

// receipt answers a read receipt as scripted, recording it first.
func (f *fakeWhatsApp) receipt(w http.ResponseWriter, r *http.Request, payload map[string]any) {
	f.mu.Lock()
	f.reads = append(f.reads, payload)
	f.history = append(f.history, "read")
	hang, answer := f.readHang, f.readAnswer
	f.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	if answer != nil {
		http.Error(w, answer.body, answer.status)
		return
	}
	fmt.Fprint(w, `{"success":true}`)
}

func (f *fakeWhatsApp) readCount() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.reads) }

func (f *fakeWhatsApp) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sends {
		if tpl, ok := s["template"].(map[string]any); ok {
			out = append(out, "template:"+tpl["name"].(string))
			continue
		}
		if inter, ok := s["interactive"].(map[string]any); ok {
			out = append(out, inter["body"].(map[string]any)["text"].(string))
			continue
		}
		out = append(out, s["text"].(map[string]any)["body"].(string))
	}
	return out
}

type harness struct {
	t      *testing.T
	db     *store.Store
	clock  *clock.Clock
	api    *httptest.Server
	wa     *fakeWhatsApp
	agent  *httptest.Server
	events *devevents.Feed // the dev feed, for tests that read it
}

// harnessOptions are the settings a test may change; the zero value is the usual.
type harnessOptions struct {
	replayAfter     time.Duration // before a message answered with the apology is replayed (20 ms)
	lateReplyWithin time.Duration // late answers are sent this soon after a message (1 min); <0: never
}

// newHarness runs delivery's HTTP API, workers and outbox sender against a fresh database,
// a scripted agent and a fake WhatsApp.
func newHarness(t *testing.T, agentHandler http.HandlerFunc) *harness {
	t.Helper()
	return newHarnessWith(t, agentHandler, harnessOptions{})
}

func newHarnessWith(t *testing.T, agentHandler http.HandlerFunc, opts harnessOptions) *harness {
	t.Helper()
	if opts.replayAfter == 0 {
		opts.replayAfter = 20 * time.Millisecond
	}
	switch {
	case opts.lateReplyWithin == 0:
		opts.lateReplyWithin = time.Minute
	case opts.lateReplyWithin < 0:
		opts.lateReplyWithin = 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, pgtest.NewMigratedDatabase(t, store.Migrate), 20)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	wa := &fakeWhatsApp{keys: map[string]string{}}
	waServer := httptest.NewServer(wa)
	agentServer := httptest.NewServer(agentHandler)
	client := agent.NewClient(agentServer.URL, 2*time.Second, m, log)
	client.SetBackoff(time.Millisecond, 5*time.Millisecond)
	client.Faults = &agent.Faults{}
	events := devevents.NewFeed(100, time.Now)
	client.Events = events
	answerer := &inbound.Answerer{Messages: db, Agent: client, AgentAttempts: 3, ReplayAfter: opts.replayAfter, Now: time.Now,
		Metrics: m, Log: log, Events: events}
	answerer.Receipts = &inbound.Receipts{WhatsApp: whatsapp.NewClient(waServer.URL+"/v21.0", phoneID, token),
		Timeout: 300 * time.Millisecond, Retry: retry.Policy{Attempts: 2, Base: 5 * time.Millisecond, Cap: 5 * time.Millisecond}, Metrics: m, Log: log, Events: events}
	tasks, owner, gate := queue.Postgres{Pool: db.Pool}, queue.NewOwner(), queue.NewGate()
	runner := func(kind string, handle queue.Handler, policy retry.Policy) *queue.Runner {
		return &queue.Runner{Kind: kind, Handle: handle, Store: tasks, Owner: owner, Concurrency: 8, Lease: 10 * time.Second,
			Poll: 50 * time.Millisecond, Grace: time.Second, Retry: policy, Now: time.Now, Log: log, Gate: gate}
	}
	answers := runner(store.TaskAnswer, answerer.Handle, retry.Policy{Attempts: 3, Base: 10 * time.Millisecond, Cap: 10 * time.Millisecond})
	sendPolicy := retry.Policy{Attempts: 5, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond}
	sender := &outbox.Sender{Outbox: db, WhatsApp: whatsapp.NewClient(waServer.URL+"/v21.0", phoneID, token),
		Retry: sendPolicy, Metrics: m, Log: log, Events: events}
	sends := runner(store.TaskSend, sender.Handle, sendPolicy)
	answerer.Replied = sends.Wake
	replayer := &inbound.Replayer{Messages: db, Agent: client, LateReplyWithin: opts.lateReplyWithin, Replied: sends.Wake,
		Metrics: m, Log: log, Events: events}
	replays := runner(store.TaskReplay, replayer.Handle, retry.Policy{Attempts: 1000, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond})
	reengager := &outbox.Reengager{Refusals: db, Queued: sends.Wake, Log: log,
		Default: whatsapp.Template{Name: "habit_checkin", Language: "en"}}
	reengages := runner(store.TaskReengage, reengager.Handle, retry.Policy{Attempts: 3, Base: 10 * time.Millisecond, Cap: 10 * time.Millisecond})
	clk, err := clock.New(ctx, db.Pool, true)
	if err != nil {
		t.Fatal(err)
	}
	client.Now = clk.Now
	firePolicy := retry.Policy{Attempts: 2, Base: time.Minute, Cap: time.Minute}
	firer := &jobs.Firer{Jobs: db, Agent: client, AgentAttempts: 2, Retry: firePolicy, Replied: sends.Wake, Metrics: m, Log: log}
	fires := runner(store.TaskFire, firer.Handle, firePolicy)
	fires.Now = clk.Now
	clk.OnChange = func(time.Time) { fires.Wake() }
	srv := &httpapi.Server{Store: db, Metrics: m, Log: log, AppSecret: secret, VerifyToken: "verify",
		InboundWake: answers, OutboxWake: sends, JobsWake: fires, Clock: clk, AgentFaults: client.Faults, Events: events,
		Gate: gate}
	api := httptest.NewServer(srv.Routes())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); answers.Run(ctx) }()
	go func() { defer wg.Done(); sends.Run(ctx) }()
	go func() { defer wg.Done(); fires.Run(ctx) }()
	wg.Add(2)
	go func() { defer wg.Done(); reengages.Run(ctx) }()
	go func() { defer wg.Done(); replays.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		api.Close()
		waServer.Close()
		agentServer.Close()
		db.Close()
	})
	return &harness{t: t, db: db, clock: clk, api: api, wa: wa, agent: agentServer, events: events}
}

func (h *harness) do(method, path string, body any, header map[string]string) (int, map[string]any) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, h.api.URL+path, r)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (h *harness) enroll(phone string) string {
	h.t.Helper()
	code, body := h.do("POST", "/conversation/participants", map[string]string{"phone_number": phone, "name": "Ada"}, nil)
	if code != http.StatusCreated {
		h.t.Fatalf("enroll: %d %v", code, body)
	}
	return body["result"].(map[string]any)["id"].(string)
}

func inboundWebhook(phone, wamid, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":%q},
		"contacts":[{"profile":{"name":"Ada"},"wa_id":%q}],
		"messages":[{"from":%q,"id":%q,"timestamp":"1700000000","type":"text","text":{"body":%q}}]}}]}]}`,
		phoneID, phone, phone, wamid, text))
}

func statusWebhook(wamid, status string) []byte {
	errs := ""
	if status == "failed" {
		errs = `,"errors":[{"code":131047,"title":"Re-engagement message"}]`
	}
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},
		"statuses":[{"id":%q,"status":%q,"timestamp":"1700000001","recipient_id":"15551234567"%s}]}}]}]}`, phoneID, wamid, status, errs))
}

func (h *harness) postSigned(body []byte) int {
	code, _ := h.do("POST", "/webhooks/whatsapp", body, map[string]string{"X-Hub-Signature-256": whatsapp.Sign(body, secret)})
	return code
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s", what)
}

// echoAgent answers "echo: <message>" and counts calls per message id.
type echoAgent struct {
	mu    sync.Mutex
	calls []agent.ProcessMessageRequest
	delay func(n int) time.Duration
}

func (a *echoAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req agent.ProcessMessageRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	a.mu.Lock()
	a.calls = append(a.calls, req)
	n := len(a.calls)
	a.mu.Unlock()
	if a.delay != nil {
		time.Sleep(a.delay(n))
	}
	_ = json.NewEncoder(w).Encode(agent.ProcessMessageResponse{Response: "echo: " + req.Message, State: "INTAKE"})
}

func (a *echoAgent) count() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.calls) }

func TestEnrolledParticipantIsAnsweredByTheAgentOnce(t *testing.T) {
	ag := &echoAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("+1 555 000 1111")

	body := inboundWebhook("15550001111", "wamid.in-1", "Hello!")
	for range 2 { // Meta may deliver the same webhook twice
		if code := h.postSigned(body); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
	}
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if got := h.wa.texts(); len(got) != 1 || got[0] != "echo: Hello!" {
		t.Fatalf("sends = %v, want one echo", got)
	}
	if ag.count() != 1 || ag.calls[0].ParticipantID != id || ag.calls[0].MessageID != "wamid.in-1" || ag.calls[0].PhoneNumber != "+15550001111" {
		t.Fatalf("agent calls = %+v", ag.calls)
	}
	_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
	msgs := log["result"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("message log = %v", msgs)
	}
	out := msgs[1].(map[string]any)
	if out["direction"] != "outbound" || out["wamid"] != "wamid.out-1" || out["status"] != "sent" {
		t.Fatalf("outbound entry = %v", out)
	}
}

func TestBadSignatureIsRefusedAndChangesNothing(t *testing.T) {
	ag := &echoAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550002222")
	body := inboundWebhook("15550002222", "wamid.in-2", "Hello!")
	for _, sig := range []string{"", "sha256=00", whatsapp.Sign(body, "wrong"), "sha1=" + whatsapp.Sign(body, secret)[7:]} {
		code, resp := h.do("POST", "/webhooks/whatsapp", body, map[string]string{"X-Hub-Signature-256": sig})
		if code != http.StatusUnauthorized || resp["status"] != "error" {
			t.Fatalf("signature %q: %d %v", sig, code, resp)
		}
	}
	time.Sleep(200 * time.Millisecond)
	_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
	if n := len(log["result"].([]any)); n != 0 || ag.count() != 0 || len(h.wa.texts()) != 0 {
		t.Fatalf("something happened: log=%d agent=%d sends=%d", n, ag.count(), len(h.wa.texts()))
	}
}

func TestMalformedWebhookIsRefused(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for _, body := range []string{`{`, `{"object":"page"}`, `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":""}]}}]}]}`} {
		if code := h.postSigned([]byte(body)); code != http.StatusBadRequest {
			t.Fatalf("%s: got %d", body, code)
		}
	}
}

func TestVerificationHandshake(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	resp, err := http.Get(h.api.URL + "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify&hub.challenge=1158201444")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "1158201444" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, got)
	}
	resp, _ = http.Get(h.api.URL + "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
}

func TestUnknownAndPausedSendersGetTheAcknowledgement(t *testing.T) {
	ag := &echoAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550003333")
	if code, _ := h.do("PUT", "/conversation/participants/"+id, map[string]string{"status": "paused"}, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	h.postSigned(inboundWebhook("15550003333", "wamid.p", "hi"))
	h.postSigned(inboundWebhook("15550009999", "wamid.u", "hi"))
	h.waitFor("two acknowledgements", func() bool { return len(h.wa.texts()) == 2 })
	for _, text := range h.wa.texts() {
		if text != inbound.Acknowledgement {
			t.Fatalf("got %q", text)
		}
	}
	if ag.count() != 0 {
		t.Fatalf("the agent was called %d times", ag.count())
	}
}

func TestAgentFailingTwiceIsRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"response":"third time lucky","state":"INTAKE","metadata":{}}`)
	})
	h.enroll("15550004444")
	h.postSigned(inboundWebhook("15550004444", "wamid.r", "hi"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != "third time lucky" || calls != 3 {
		t.Fatalf("reply %q after %d calls", got, calls)
	}
}

func TestAgentDownGetsTheFallbackApology(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	})
	h.enroll("15550005555")
	h.postSigned(inboundWebhook("15550005555", "wamid.f", "hi"))
	h.waitFor("the apology", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != inbound.FallbackApology {
		t.Fatalf("got %q", got)
	}
}

func TestMessagesOfOneParticipantAreAnsweredInOrder(t *testing.T) {
	// Early calls are slow, so a worker that jumped the queue would answer out of order.
	ag := &echoAgent{delay: func(n int) time.Duration { return time.Duration(6-n) * 15 * time.Millisecond }}
	h := newHarness(t, ag.ServeHTTP)
	h.enroll("15550006666")
	for i := 1; i <= 5; i++ {
		h.postSigned(inboundWebhook("15550006666", fmt.Sprintf("wamid.o%d", i), fmt.Sprintf("m%d", i)))
	}
	h.waitFor("five replies", func() bool { return len(h.wa.texts()) == 5 })
	want := []string{"echo: m1", "echo: m2", "echo: m3", "echo: m4", "echo: m5"}
	if got := h.wa.texts(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replies out of order: %v", got)
	}
}

func TestStatusesNeverMoveBackwards(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	id := h.enroll("15550007777")
	h.postSigned(inboundWebhook("15550007777", "wamid.s", "hi"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	// read arrives before delivered, and "sent" comes twice, maybe even before delivery
	// has recorded the send's wamid: the final status is read.
	for _, st := range []string{"read", "delivered", "sent", "sent"} {
		if code := h.postSigned(statusWebhook("wamid.out-1", st)); code != 200 {
			t.Fatalf("status %s: %d", st, code)
		}
	}
	status := func() any {
		_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
		return log["result"].([]any)[1].(map[string]any)["status"]
	}
	h.waitFor("the reply to be read", func() bool { return status() == "read" })
	time.Sleep(100 * time.Millisecond)
	if got := status(); got != "read" {
		t.Fatalf("status went back to %v", got)
	}
}

func TestOutboxRetriesServerErrorsWithTheSameIdempotencyKey(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.wa.mu.Lock()
	h.wa.fail = 2
	h.wa.mu.Unlock()
	h.enroll("15550008888")
	h.postSigned(inboundWebhook("15550008888", "wamid.x", "hi"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
}
