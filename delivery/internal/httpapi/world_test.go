package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// exportWorld reads GET /dev/world as it is, and decoded.
func (h *harness) exportWorld() ([]byte, map[string]any) {
	h.t.Helper()
	resp, err := http.Get(h.api.URL + "/dev/world")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("export: %d %s", resp.StatusCode, raw)
	}
	var world map[string]any
	if err := json.Unmarshal(raw, &world); err != nil {
		h.t.Fatal(err)
	}
	return raw, world
}

func tables(world map[string]any) map[string]any { return world["tables"].(map[string]any) }

func worldNow(t *testing.T, world map[string]any) time.Time {
	now, err := time.Parse(time.RFC3339Nano, world["now"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return now
}

func TestWorldRoundTripRestoresEveryTableAndTheClock(t *testing.T) {
	ag := &echoAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550020001")
	h.postSigned(inboundWebhook("15550020001", "wamid.in-1", "Hello!"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	if code, body := h.do("POST", "/conversation/participants/"+id+"/events",
		map[string]any{"kind": "reminder", "delay_seconds": 3600}, nil); code != 201 {
		t.Fatalf("event: %d %v", code, body)
	}
	h.waitFor("the reply's send settled", func() bool {
		_, w := h.exportWorld()
		return len(tables(w)["tasks"].([]any)) == 1 // the reminder's fire task only
	})
	saved, world := h.exportWorld()
	if world["service"] != "delivery" || world["format"] != float64(1) || world["schema_version"].(float64) < 11 {
		t.Fatalf("world header = %v %v %v", world["service"], world["format"], world["schema_version"])
	}
	for name, want := range map[string]int{"participants": 1, "messages": 2, "outbox": 1, "jobs": 1, "tasks": 1} {
		if got := len(tables(world)[name].([]any)); got != want {
			t.Errorf("%s: %d rows, want %d", name, got, want)
		}
	}

	// The world moves on: another participant, more messages, a day later.
	h.enroll("15550020002")
	h.postSigned(inboundWebhook("15550020001", "wamid.in-2", "Again"))
	h.waitFor("the second reply", func() bool { return len(h.wa.texts()) >= 2 })
	h.advance("24h")

	code, body := h.do("PUT", "/dev/world", saved, nil)
	if code != 200 {
		t.Fatalf("import: %d %v", code, body)
	}
	_, back := h.exportWorld()
	if !reflect.DeepEqual(tables(back), tables(world)) {
		t.Fatalf("tables after the load differ from the saved ones:\nsaved %v\nnow   %v", tables(world), tables(back))
	}
	// The clock went back to the world's time, and runs on from there.
	if d := worldNow(t, back).Sub(worldNow(t, world)); d < 0 || d > 5*time.Second {
		t.Fatalf("now after the load is %v after the saved now", d)
	}

	// New rows continue after the loaded ones, and the restored reminder fires when due.
	sent := len(h.wa.texts())
	h.postSigned(inboundWebhook("15550020001", "wamid.in-3", "After the load"))
	h.waitFor("a reply after the load", func() bool { return len(h.wa.texts()) == sent+1 })
	_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
	if msgs := log["result"].([]any); len(msgs) != 4 {
		t.Fatalf("message log after the load = %v", msgs)
	}
	h.advance("2h")
	h.waitFor("the restored reminder's reply", func() bool { return len(h.wa.texts()) == sent+2 })
}

func TestPauseWaitsForWorkInFlightAndHoldsNewWork(t *testing.T) {
	started := make(chan struct{}, 10)
	ag := &echoAgent{delay: func(n int) time.Duration {
		started <- struct{}{}
		if n == 1 {
			return 400 * time.Millisecond
		}
		return 0
	}}
	h := newHarness(t, ag.ServeHTTP)
	h.enroll("15550030001")
	h.postSigned(inboundWebhook("15550030001", "wamid.in-1", "slow one"))
	<-started // the agent is working on it

	if code, body := h.do("POST", "/dev/world/pause", map[string]any{"limit_seconds": 30}, nil); code != 200 {
		t.Fatalf("pause: %d %v", code, body)
	}
	// The pause answered only once the turn in flight had settled: its reply is queued.
	_, world := h.exportWorld()
	if msgs := tables(world)["messages"].([]any); len(msgs) != 2 {
		t.Fatalf("messages when paused = %d, want the message and its reply", len(msgs))
	}
	// While paused a webhook is taken in and kept, but not worked; time travel waits.
	h.postSigned(inboundWebhook("15550030001", "wamid.in-2", "while paused"))
	time.Sleep(300 * time.Millisecond)
	if ag.count() != 1 {
		t.Fatalf("the agent was called %d times while paused", ag.count())
	}
	if code, _ := h.do("POST", "/dev/clock", map[string]string{"advance": "1h"}, nil); code != http.StatusConflict {
		t.Fatalf("time travel while paused answered %d", code)
	}
	_, world = h.exportWorld()
	sent := len(h.wa.texts())
	if code, _ := h.do("POST", "/dev/world/resume", nil, nil); code != 200 {
		t.Fatal("resume failed")
	}
	h.waitFor("both replies", func() bool { return len(h.wa.texts()) == 2 })
	if sent > 1 || len(tables(world)["messages"].([]any)) != 3 {
		t.Fatalf("paused: %d sends, %d messages", sent, len(tables(world)["messages"].([]any)))
	}
}

func TestImportRefusesAWorldThatDoesNotFitAndChangesNothing(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.enroll("15550040001")
	_, world := h.exportWorld()
	before, _ := json.Marshal(tables(world))

	variant := func(change func(w map[string]any)) map[string]any {
		raw, _ := json.Marshal(world)
		var w map[string]any
		_ = json.Unmarshal(raw, &w)
		change(w)
		return w
	}
	cases := map[string]struct {
		world map[string]any
		says  string
	}{
		"older format": {variant(func(w map[string]any) { w["format"] = 0 }), "format 0"},
		"older schema": {variant(func(w map[string]any) { w["schema_version"] = 3 }), "schema version 3"},
		"bad rows": {variant(func(w map[string]any) {
			tables(w)["participants"] = []any{map[string]any{"id": "p_x", "status": "unknown"}}
		}), "participants"},
		"unknown table": {variant(func(w map[string]any) { tables(w)["sessions"] = []any{} }), "sessions"},
	}
	for name, c := range cases {
		for _, dry := range []string{"", "?dry_run=true"} {
			code, body := h.do("PUT", "/dev/world"+dry, c.world, nil)
			msg, _ := body["message"].(string)
			if code != http.StatusUnprocessableEntity || !strings.Contains(msg, c.says) {
				t.Errorf("%s%s: %d %v", name, dry, code, body)
			}
		}
	}
	if code, _ := h.do("PUT", "/dev/world", "{not json", nil); code != http.StatusBadRequest {
		t.Errorf("bad JSON answered %d", code)
	}
	_, after := h.exportWorld()
	if got, _ := json.Marshal(tables(after)); string(got) != string(before) {
		t.Fatalf("a refused world changed the state:\nbefore %s\nafter  %s", before, got)
	}
	// A dry run of a good world changes nothing either.
	h.enroll("15550040002")
	if code, body := h.do("PUT", "/dev/world?dry_run=true", world, nil); code != 200 || body["result"].(map[string]any)["dry_run"] != true {
		t.Fatalf("dry run: %d %v", code, body)
	}
	_, after = h.exportWorld()
	if n := len(tables(after)["participants"].([]any)); n != 2 {
		t.Fatalf("a dry run replaced the state: %d participants", n)
	}
}

func TestPauseRefusesABodyItCannotUse(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for _, body := range []string{"null", "[]", `{"limit_seconds": 0}`, `{"limit_seconds": -5}`, `{"limit_seconds": 7200}`, `{"limit_seconds": "x"}`, `{"limit_seconds": null}`} {
		if code, _ := h.do("POST", "/dev/world/pause", body, nil); code != http.StatusBadRequest {
			t.Errorf("pause %s answered %d", body, code)
		}
	}
	if code, _ := h.do("POST", "/dev/world/pause", nil, nil); code != 200 {
		t.Fatalf("a pause without a body answered %d", code)
	}
	h.do("POST", "/dev/world/resume", nil, nil)
}
