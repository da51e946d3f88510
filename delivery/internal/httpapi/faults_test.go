package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"promptpipe/delivery/internal/inbound"
)

func TestAgentFaultSwitchDownThenOK(t *testing.T) {
	var calls atomic.Int32
	// The kept message's own replay waits an hour here: the next message hands it over.
	h := newHarnessWith(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"response":"hello from the agent","state":"INTAKE","metadata":{}}`)
	}, harnessOptions{replayAfter: time.Hour})
	h.enroll("15550006666")

	code, body := h.do("PUT", "/dev/faults/agent", map[string]any{"mode": "down"}, nil)
	if code != http.StatusOK || body["result"].(map[string]any)["mode"] != "down" {
		t.Fatalf("set down: %d %v", code, body)
	}
	h.postSigned(inboundWebhook("15550006666", "wamid.d1", "hi"))
	h.waitFor("the apology", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != inbound.FallbackApology || calls.Load() != 0 {
		t.Fatalf("while down: reply %q, agent called %d times", got, calls.Load())
	}

	h.do("PUT", "/dev/faults/agent", map[string]any{"mode": "ok"}, nil)
	h.postSigned(inboundWebhook("15550006666", "wamid.d2", "hi again"))
	h.waitFor("the agent's reply", func() bool { return len(h.wa.texts()) == 2 })
	// The agent had the message it missed first, then the new one; only the new one is
	// answered.
	if got := h.wa.texts()[1]; got != "hello from the agent" || calls.Load() != 2 {
		t.Fatalf("after recovery: reply %q, agent called %d times", got, calls.Load())
	}
	code, body = h.do("GET", "/dev/faults/agent", nil, nil)
	if code != http.StatusOK || body["result"].(map[string]any)["mode"] != "ok" {
		t.Fatalf("get: %d %v", code, body)
	}
}

func TestWithoutACandidateItsFaultSwitchIsNotFoundInTheAPIsShape(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for _, method := range []string{"GET", "PUT"} {
		code, body := h.do(method, "/dev/faults/agent/candidate", map[string]any{"mode": "down"}, nil)
		if code != http.StatusNotFound || body["status"] != "error" || body["message"] == "" {
			t.Errorf("%s: %d %v", method, code, body)
		}
	}
	if code, _ := h.do("DELETE", "/dev/faults/agent/candidate", nil, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", code)
	}
	// The primary's switch is untouched.
	if code, body := h.do("GET", "/dev/faults/agent", nil, nil); code != http.StatusOK || body["result"].(map[string]any)["mode"] != "ok" {
		t.Errorf("primary's switch: %d %v", code, body)
	}
}

func TestAgentFaultSwitchRejectsBadInput(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for _, req := range []any{
		map[string]any{"mode": "sideways"},
		map[string]any{"mode": "slow"},
		map[string]any{"mode": "slow", "delay_seconds": -1},
		map[string]any{"mode": "slow", "delay_seconds": 601},
		"{not json",
	} {
		code, body := h.do("PUT", "/dev/faults/agent", req, nil)
		if code != http.StatusBadRequest || body["status"] != "error" || body["message"] == "" {
			t.Errorf("%v: %d %v", req, code, body)
		}
	}
	// Nothing changed.
	if _, body := h.do("GET", "/dev/faults/agent", nil, nil); body["result"].(map[string]any)["mode"] != "ok" {
		t.Fatalf("mode changed by bad input: %v", body)
	}
	code, body := h.do("PUT", "/dev/faults/agent", map[string]any{"mode": "slow", "delay_seconds": 2.5}, nil)
	if code != http.StatusOK || body["result"].(map[string]any)["delay_seconds"] != 2.5 {
		t.Fatalf("slow: %d %v", code, body)
	}
}

func TestDevEventsFollowOneMessage(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"response":"hello","state":"INTAKE","metadata":{}}`)
	})
	h.enroll("15550007777")
	h.postSigned(inboundWebhook("15550007777", "wamid.e1", "hi"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })

	events := func() []map[string]any {
		_, body := h.do("GET", "/dev/events?after=0", nil, nil)
		var out []map[string]any
		for _, e := range body["result"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	// The read receipt runs beside the agent's turn, so its place among the agent calls
	// varies; it always precedes the reply.
	kinds := func() (turn []string, receiptBeforeReply bool) {
		for _, e := range events() {
			switch kind := e["kind"].(string); kind {
			case "whatsapp.read":
				receiptBeforeReply = !slices.Contains(turn, "reply.queued")
			default:
				turn = append(turn, kind)
			}
		}
		return turn, receiptBeforeReply
	}
	h.waitFor("the send's event", func() bool { k, _ := kinds(); return len(k) > 0 && k[len(k)-1] == "outbox.sent" })
	want := []string{"webhook.message", "agent.call", "agent.call", "reply.queued", "outbox.sent"}
	if got, receiptFirst := kinds(); fmt.Sprint(got) != fmt.Sprint(want) || !receiptFirst {
		t.Fatalf("events %v (receipt before the reply: %v), want %v", got, receiptFirst, want)
	}
	var first map[string]any
	for _, e := range events() {
		if e["kind"] == "agent.call" {
			first = e
			break
		}
	}
	_, body := h.do("GET", fmt.Sprintf("/dev/events?after=%v&limit=1", first["id"].(float64)-1), nil, nil)
	if got := body["result"].([]any)[0].(map[string]any); got["id"] != first["id"] {
		t.Fatalf("after/limit gave %v, want event %v", got, first["id"])
	}
	data := first["data"].(map[string]any)
	if data["ok"] != false || data["attempt"].(float64) != 1 || data["error"] == "" {
		t.Fatalf("first agent attempt: %v", first)
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=5000"} {
		if code, body := h.do("GET", "/dev/events?"+q, nil, nil); code != http.StatusBadRequest || body["status"] != "error" {
			t.Errorf("%s: %d %v", q, code, body)
		}
	}
}
