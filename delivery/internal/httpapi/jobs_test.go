package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"promptpipe/delivery/internal/agent"
)

// eventAgent answers /process-event with "it is time: <kind>" and records every call.
type eventAgent struct {
	mu     sync.Mutex
	events []agent.ProcessEventRequest
	nows   []string // X-PromptPipe-Now of each call
}

func (a *eventAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/process-event" {
		http.Error(w, "unexpected", http.StatusNotFound)
		return
	}
	var req agent.ProcessEventRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	a.mu.Lock()
	a.events = append(a.events, req)
	a.nows = append(a.nows, r.Header.Get("X-PromptPipe-Now"))
	a.mu.Unlock()
	buttons := ""
	if req.Kind == "daily_prompt" {
		buttons = `,"buttons":[{"id":"done","title":"Done"},{"id":"later","title":"Next time"}]`
	}
	fmt.Fprintf(w, `{"response":"it is time: %s","state":"FEEDBACK","metadata":{}%s}`, req.Kind, buttons)
}

func (a *eventAgent) seen() []agent.ProcessEventRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]agent.ProcessEventRequest(nil), a.events...)
}

func (h *harness) advance(d string) {
	h.t.Helper()
	if code, body := h.do("POST", "/dev/clock", map[string]string{"advance": d}, nil); code != 200 {
		h.t.Fatalf("advance: %d %v", code, body)
	}
}

func TestDailyScheduleFiresAtLocalTimeAfterAClockAdvance(t *testing.T) {
	ag := &eventAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550010001")
	// Two hours from (virtual) now, in Tokyo: today's occurrence is still ahead.
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at := h.clock.Now().Add(2 * time.Hour).In(tokyo)
	local := at.Format("15:04")
	code, body := h.do("POST", "/conversation/participants/"+id+"/schedules",
		map[string]any{"kind": "daily_prompt", "local_time": local, "timezone": "Asia/Tokyo", "payload": map[string]string{"habit": "stretch"}}, nil)
	if code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	next, _ := time.Parse(time.RFC3339, body["result"].(map[string]any)["next_run_at"].(string))
	if d := next.Sub(h.clock.Now()); d <= time.Hour || d > 2*time.Hour {
		t.Fatalf("first occurrence in %v, want within two hours (same day)", d)
	}
	time.Sleep(150 * time.Millisecond)
	if len(ag.seen()) != 0 {
		t.Fatal("fired before it was due")
	}
	h.advance("2h")
	h.waitFor("the prompt", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != "it is time: daily_prompt" {
		t.Fatalf("sent %q", got)
	}
	h.wa.mu.Lock()
	sent := h.wa.sends[0]
	h.wa.mu.Unlock()
	action := sent["interactive"].(map[string]any)["action"].(map[string]any)
	if sent["type"] != "interactive" || len(action["buttons"].([]any)) != 2 {
		t.Fatalf("the prompt was not sent with its buttons: %v", sent)
	}
	ev := ag.seen()[0]
	var payload map[string]string
	_ = json.Unmarshal(ev.Payload, &payload)
	if ev.ParticipantID != id || ev.PhoneNumber != "+15550010001" || payload["habit"] != "stretch" || ev.EventID == "" {
		t.Fatalf("event = %+v (payload %s)", ev, ev.Payload)
	}
	// The schedule stays, due again the next day at the same local time.
	_, list := h.do("GET", "/conversation/participants/"+id+"/schedules", nil, nil)
	again, _ := time.Parse(time.RFC3339, list["result"].([]any)[0].(map[string]any)["next_run_at"].(string))
	if again.Sub(next) != 24*time.Hour || again.In(tokyo).Format("15:04") != local {
		t.Fatalf("next occurrence %v, want a day after %v", again, next)
	}
	h.advance("24h")
	h.waitFor("the second prompt", func() bool { return len(h.wa.texts()) == 2 })
	if seen := ag.seen(); seen[1].EventID == seen[0].EventID {
		t.Fatal("two occurrences shared an event id")
	}
}

func TestOneShotEventsDedupeAndCancel(t *testing.T) {
	ag := &eventAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550010002")
	path := "/conversation/participants/" + id + "/events"
	reminder := map[string]any{"kind": "reminder", "delay_seconds": 5 * 3600, "dedupe_key": "reminder"}
	code1, first := h.do("POST", path, reminder, nil)
	code2, second := h.do("POST", path, reminder, nil)
	if code1 != 201 || code2 != 200 {
		t.Fatalf("codes %d, %d", code1, code2)
	}
	if first["result"].(map[string]any)["id"] != second["result"].(map[string]any)["id"] {
		t.Fatal("dedupe_key created a second event")
	}
	code, other := h.do("POST", path, map[string]any{"kind": "switch", "delay_seconds": 60}, nil)
	if code != 201 {
		t.Fatalf("second event: %d", code)
	}
	otherID := other["result"].(map[string]any)["id"].(string)
	if code, _ := h.do("DELETE", path+"/"+otherID, nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	if code, _ := h.do("DELETE", path+"/"+otherID, nil, nil); code != 404 {
		t.Fatalf("cancel twice: %d", code)
	}
	_, jobs := h.do("GET", "/conversation/participants/"+id+"/jobs", nil, nil)
	if n := len(jobs["result"].([]any)); n != 1 {
		t.Fatalf("pending jobs = %d, want 1", n)
	}
	h.advance("5h")
	h.waitFor("the reminder", func() bool { return len(h.wa.texts()) == 1 })
	time.Sleep(150 * time.Millisecond)
	if seen := ag.seen(); len(seen) != 1 || seen[0].Kind != "reminder" {
		t.Fatalf("events = %+v", seen)
	}
}

func TestPausedAndDeletedParticipantsGetNothingScheduled(t *testing.T) {
	ag := &eventAgent{}
	h := newHarness(t, ag.ServeHTTP)
	paused := h.enroll("15550010003")
	deleted := h.enroll("15550010004")
	for _, id := range []string{paused, deleted} {
		if code, _ := h.do("POST", "/conversation/participants/"+id+"/events", map[string]any{"kind": "nudge", "delay_seconds": 60}, nil); code != 201 {
			t.Fatalf("event: %d", code)
		}
	}
	h.do("PUT", "/conversation/participants/"+paused, map[string]string{"status": "paused"}, nil)
	h.do("DELETE", "/conversation/participants/"+deleted, nil, nil)
	h.advance("2m")
	time.Sleep(300 * time.Millisecond)
	if len(ag.seen()) != 0 || len(h.wa.texts()) != 0 {
		t.Fatalf("something fired: events=%v sends=%v", ag.seen(), h.wa.texts())
	}
}

func TestJobAndClockRequestsAreValidated(t *testing.T) {
	h := newHarness(t, (&eventAgent{}).ServeHTTP)
	id := h.enroll("15550010005")
	for _, c := range []struct {
		path string
		body any
		code int
	}{
		{"/conversation/participants/" + id + "/schedules", map[string]any{"kind": "daily_prompt", "local_time": "25:00"}, 400},
		{"/conversation/participants/" + id + "/schedules", map[string]any{"kind": "", "local_time": "07:30"}, 400},
		{"/conversation/participants/" + id + "/schedules", map[string]any{"kind": "x", "local_time": "07:30", "timezone": "Nowhere/City"}, 400},
		{"/conversation/participants/p_none/schedules", map[string]any{"kind": "x", "local_time": "07:30"}, 404},
		{"/conversation/participants/" + id + "/events", map[string]any{"kind": "x"}, 400},
		{"/conversation/participants/" + id + "/events", map[string]any{"kind": "x", "delay_seconds": -1}, 400},
		{"/conversation/participants/" + id + "/events", map[string]any{"kind": "x", "delay_seconds": 1, "payload": []int{1}}, 400},
		{"/dev/clock", map[string]any{"advance": "-1h"}, 400},
		{"/dev/clock", map[string]any{"advance": "soon"}, 400},
		{"/dev/clock", map[string]any{}, 400},
	} {
		if code, body := h.do("POST", c.path, c.body, nil); code != c.code {
			t.Errorf("%s %v: %d %v, want %d", c.path, c.body, code, body, c.code)
		}
	}
	_, jobs := h.do("GET", "/conversation/participants/"+id+"/jobs", nil, nil)
	if n := len(jobs["result"].([]any)); n != 0 {
		t.Fatalf("invalid requests created %d jobs", n)
	}
}

func TestTimeTravelStopsAtEveryDueJob(t *testing.T) {
	ag := &eventAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550010006")
	at := h.clock.Now().Add(2 * time.Hour).UTC()
	h.do("POST", "/conversation/participants/"+id+"/schedules",
		map[string]any{"kind": "daily_prompt", "local_time": at.Format("15:04"), "timezone": "UTC"}, nil)
	h.advance("40h") // two occurrences on the way: in 2 h and in 26 h
	seen := ag.seen()
	if len(seen) != 2 {
		t.Fatalf("fired %d times, want 2", len(seen))
	}
	for i, ev := range seen {
		now, _ := time.Parse(time.RFC3339Nano, ag.nows[i])
		if d := now.Sub(ev.ScheduledFor); d < 0 || d > time.Second {
			t.Errorf("occurrence %d ran at %v, due %v: the clock did not stop there", i, now, ev.ScheduledFor)
		}
	}
	if got := h.wa.texts(); len(got) != 2 {
		t.Fatalf("sent %v", got)
	}
}
