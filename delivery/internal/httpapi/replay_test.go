package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"promptpipe/delivery/internal/inbound"
)

// switchable is the echo agent behind a switch: while down it answers 502, as a proxy in
// front of a dead agent would.
type switchable struct {
	echoAgent
	down atomic.Bool
}

func (a *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.down.Load() {
		http.Error(w, "agent down", http.StatusBadGateway)
		return
	}
	a.echoAgent.ServeHTTP(w, r)
}

func (a *switchable) messageIDs() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for _, c := range a.calls {
		ids = append(ids, c.MessageID)
	}
	return strings.Join(ids, ",")
}

func TestAnAgentOutageKeepsTheTurnAndHandsItToTheAgentWhenItIsBack(t *testing.T) {
	ag := &switchable{}
	ag.down.Store(true)
	h := newHarness(t, ag.ServeHTTP)
	h.enroll("15550001313")
	h.postSigned(inboundWebhook("15550001313", "wamid.k1", "moving more"))
	h.waitFor("the apology", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != inbound.FallbackApology {
		t.Fatalf("reply while the agent is down = %q", got)
	}
	ag.down.Store(false)
	h.waitFor("the kept turn handed to the agent", func() bool { return ag.messageIDs() == "wamid.k1" })
	// Nothing newer came in, and soon: the agent's late answer is worth sending.
	h.waitFor("the late answer", func() bool { return len(h.wa.texts()) == 2 })
	if got := h.wa.texts(); got[1] != "echo: moving more" {
		t.Fatalf("sends = %q", got)
	}
	// It quotes the message it answers, so the participant sees what it is about.
	h.wa.mu.Lock()
	context := h.wa.sends[1]["context"]
	h.wa.mu.Unlock()
	if quoted, _ := context.(map[string]any); quoted["message_id"] != "wamid.k1" {
		t.Fatalf("the late answer's context = %v, want the message it answers", context)
	}
}

func TestMessagesKeptDuringAnOutageReachTheAgentInOrderBeforeTheNextOne(t *testing.T) {
	ag := &switchable{}
	ag.down.Store(true)
	// Replays wait an hour: the phone's next message is what hands the kept ones over.
	h := newHarnessWith(t, ag.ServeHTTP, harnessOptions{replayAfter: time.Hour})
	id := h.enroll("15550001414")
	for i, text := range []string{"one", "two"} {
		h.postSigned(inboundWebhook("15550001414", fmt.Sprintf("wamid.n%d", i+1), text))
		h.waitFor("an apology", func() bool { return len(h.wa.texts()) == i+1 })
	}
	ag.down.Store(false)
	h.postSigned(inboundWebhook("15550001414", "wamid.n3", "three"))
	h.waitFor("the answer to three", func() bool { return len(h.wa.texts()) == 3 })
	if got := ag.messageIDs(); got != "wamid.n1,wamid.n2,wamid.n3" {
		t.Fatalf("the agent had %s, want every message once, in order", got)
	}
	if got := h.wa.texts(); got[0] != inbound.FallbackApology || got[1] != inbound.FallbackApology || got[2] != "echo: three" {
		t.Fatalf("sends = %q; the answers to one and two came too late to send", got)
	}
	_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
	for _, entry := range log["result"].([]any) {
		if e := entry.(map[string]any); e["direction"] == "inbound" && e["status"] != "done" {
			t.Fatalf("message %v is %v, want done", e["body"], e["status"])
		}
	}
}

func TestALateAnswerIsWithheldWhenTheParticipantWroteSinceOrLateRepliesAreOff(t *testing.T) {
	for _, c := range []struct {
		name string
		opts harnessOptions
		also bool // a second message while the agent is down
	}{
		{"wrote since", harnessOptions{}, true},
		{"late replies off", harnessOptions{lateReplyWithin: -1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ag := &switchable{}
			ag.down.Store(true)
			h := newHarnessWith(t, ag.ServeHTTP, c.opts)
			h.enroll("15550001515")
			want := "wamid.w1"
			h.postSigned(inboundWebhook("15550001515", "wamid.w1", "first"))
			h.waitFor("the apology", func() bool { return len(h.wa.texts()) == 1 })
			if c.also {
				want += ",wamid.w2"
				h.postSigned(inboundWebhook("15550001515", "wamid.w2", "second"))
				h.waitFor("the second apology", func() bool { return len(h.wa.texts()) == 2 })
			}
			sent := len(h.wa.texts())
			ag.down.Store(false)
			h.waitFor("the kept messages handed to the agent", func() bool { return ag.messageIDs() == want })
			// The replay of the newest message may send its late answer: only when late
			// replies are on and nothing came after it.
			if c.also {
				h.waitFor("the late answer to the newest message", func() bool { return len(h.wa.texts()) == sent+1 })
				if got := h.wa.texts(); got[sent] != "echo: second" {
					t.Fatalf("sends = %q, want no answer to first", got)
				}
				return
			}
			h.waitFor("the replay to settle", func() bool { return strings.Contains(h.metricsText(), `delivery_replays_total{result="withheld"} 1`) })
			if got := h.wa.texts(); len(got) != 1 {
				t.Fatalf("sends = %q, want only the apology", got)
			}
		})
	}
}
