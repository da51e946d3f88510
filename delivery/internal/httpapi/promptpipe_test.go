package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSendValidatesLikePromptPipeAndQueuesText(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	long := strings.Repeat("x", 4097)
	options := func(n int) []map[string]string {
		out := []map[string]string{}
		for i := range n {
			out = append(out, map[string]string{"label": "Option", "body": "do thing " + string(rune('a'+i))})
		}
		return out
	}
	for _, c := range []struct {
		body    any
		code    int
		message string
	}{
		{"{", 400, "Invalid JSON format"},
		{map[string]any{"body": "hi"}, 400, "to is required"},
		{map[string]any{"to": "invalid-phone", "body": "hi"}, 400, "Invalid recipient: phone number must be E.164: 6 to 15 digits, optionally after a +"},
		{map[string]any{"to": "15551112222"}, 400, "body is required for static prompts"},
		{map[string]any{"to": "15551112222", "body": long}, 400, "body exceeds maximum length of 4096 characters"},
		{map[string]any{"to": "15551112222", "type": "poem", "body": "hi"}, 400, "invalid prompt type"},
		{map[string]any{"to": "15551112222", "type": "branch", "branch_options": options(1)}, 400, "insufficient branch options"},
		{map[string]any{"to": "15551112222", "type": "branch", "branch_options": options(11)}, 400, "too many branch options"},
		{map[string]any{"to": "+1 555 111 2222", "body": "Time to stretch!"}, 200, "Message sent successfully"},
		{map[string]any{"to": "15551112222", "type": "branch", "body": "Pick one", "branch_options": options(2)}, 200, "Message sent successfully"},
	} {
		code, body := h.do("POST", "/send", c.body, nil)
		if code != c.code || body["message"] != c.message {
			t.Errorf("%v: %d %q, want %d %q", c.body, code, body["message"], c.code, c.message)
		}
	}
	h.waitFor("two sends", func() bool { return len(h.wa.texts()) == 2 })
	got := h.wa.texts()
	if got[0] != "Time to stretch!" || !strings.Contains(got[1], "1. Option: do thing a") {
		t.Fatalf("sent %q", got)
	}
	code, _ := h.do("GET", "/send", nil, nil)
	if code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /send: %d", code)
	}
}

func TestReceiptsCarryTheMessageID(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.do("POST", "/send", map[string]any{"to": "15551113333", "body": "hi"}, nil)
	h.waitFor("the send", func() bool { return len(h.wa.texts()) == 1 })
	h.postSigned(statusWebhook("wamid.out-1", "delivered"))
	var receipts []any
	// The recipient comes from delivery's log, once the send's wamid is recorded there
	// (the status may arrive first, as it may from WhatsApp).
	h.waitFor("the receipt with its recipient", func() bool {
		_, body := h.do("GET", "/receipts", nil, nil)
		receipts = body["result"].([]any)
		return len(receipts) == 1 && receipts[0].(map[string]any)["to"] != ""
	})
	r := receipts[0].(map[string]any)
	if r["to"] != "15551113333" || r["status"] != "delivered" || r["message_id"] != "wamid.out-1" || r["time"].(float64) == 0 {
		t.Fatalf("receipt = %v", r)
	}
}

func TestResponsesAndStats(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for _, c := range []struct {
		body    any
		code    int
		message string
	}{
		{map[string]any{"body": "hi"}, 400, "from is required"},
		{map[string]any{"from": "invalid-phone", "body": "hi"}, 400, "Invalid sender: phone number must be E.164: 6 to 15 digits, optionally after a +"},
		{map[string]any{"from": "15551114444", "body": " "}, 400, "body is required"},
		{map[string]any{"from": "+1 555 111 4444", "body": "done!"}, 201, "Response recorded successfully"},
	} {
		if code, body := h.do("POST", "/response", c.body, nil); code != c.code || body["message"] != c.message {
			t.Errorf("%v: %d %v", c.body, code, body)
		}
	}
	h.postSigned(inboundWebhook("15551115555", "wamid.r1", "hello"))
	_, body := h.do("GET", "/responses", nil, nil)
	if n := len(body["result"].([]any)); n != 2 {
		t.Fatalf("responses = %v", body)
	}
	_, stats := h.do("GET", "/stats", nil, nil)
	res := stats["result"].(map[string]any)
	if res["total_responses"].(float64) != 2 || res["avg_response_length"].(float64) != 5 {
		t.Fatalf("stats = %v", res)
	}
	if res["responses_per_sender"].(map[string]any)["15551114444"].(float64) != 1 {
		t.Fatalf("per sender = %v", res["responses_per_sender"])
	}
}

func TestTimersListReadAndCancelJobs(t *testing.T) {
	h := newHarness(t, (&eventAgent{}).ServeHTTP)
	id := h.enroll("15551116666")
	_, ev := h.do("POST", "/conversation/participants/"+id+"/events", map[string]any{"kind": "reminder", "delay_seconds": 3600}, nil)
	h.do("POST", "/conversation/participants/"+id+"/schedules", map[string]any{"kind": "daily_prompt", "local_time": "07:30"}, nil)
	_, list := h.do("GET", "/timers", nil, nil)
	if list["count"].(float64) != 2 {
		t.Fatalf("timers = %v", list)
	}
	timerID := ev["result"].(map[string]any)["id"].(string)
	code, timer := h.do("GET", "/timers/"+timerID, nil, nil)
	if code != 200 || timer["type"] != "once" {
		t.Fatalf("timer: %d %v", code, timer)
	}
	if d, _ := time.ParseDuration(timer["remaining"].(string)); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("remaining = %v", timer["remaining"])
	}
	if code, body := h.do("DELETE", "/timers/"+timerID, nil, nil); code != 200 || body["canceled"] != true {
		t.Fatalf("cancel: %d %v", code, body)
	}
	if code, _ := h.do("GET", "/timers/"+timerID, nil, nil); code != 404 {
		t.Fatalf("after cancel: %d", code)
	}
	if code, _ := h.do("DELETE", "/timers/job_nope", nil, nil); code != 404 {
		t.Fatalf("unknown timer: %d", code)
	}
}

func TestScheduleSendsThePromptDurablyOnItsCalendar(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for _, c := range []struct {
		body    any
		code    int
		message string
	}{
		{map[string]any{"to": "15551117777", "body": "hi"}, 400, "Missing required field: schedule"},
		{map[string]any{"to": "15551117777", "body": "hi", "schedule": map[string]any{"minute": 99}}, 400, "schedule minute must be between 0 and 59"},
		{map[string]any{"to": "15551117777", "body": "hi", "schedule": map[string]any{"timezone": "Mars/Base"}}, 400, "invalid timezone"},
		{map[string]any{"to": "15551117777", "body": "hi", "schedule": map[string]any{"day": 30, "month": 2}}, 400, "the schedule never matches (for example February 30)"},
	} {
		if code, body := h.do("POST", "/schedule", c.body, nil); code != c.code || body["message"] != c.message {
			t.Errorf("%v: %d %v", c.body, code, body)
		}
	}
	// Every day at the next whole hour, UTC: due within the hour.
	next := h.clock.Now().Add(time.Hour)
	code, body := h.do("POST", "/schedule", map[string]any{"to": "15551117777", "body": "Stretch time!",
		"schedule": map[string]any{"hour": next.Hour(), "minute": 0}}, nil)
	if code != 201 || body["message"] != "Scheduled successfully" {
		t.Fatalf("schedule: %d %v", code, body)
	}
	h.advance("1h")
	h.waitFor("the prompt", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != "Stretch time!" {
		t.Fatalf("sent %q", got)
	}
	_, timer := h.do("GET", "/timers/"+body["result"].(string), nil, nil)
	if timer["type"] != "recurring" {
		t.Fatalf("timer = %v", timer)
	}
	if d, _ := time.ParseDuration(timer["remaining"].(string)); d < 22*time.Hour || d > 24*time.Hour {
		t.Fatalf("next run in %v, want about a day", timer["remaining"])
	}
}

func TestClosedWindowIsAnsweredWithTheTemplateOnce(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.do("POST", "/send", map[string]any{"to": "15551118888", "body": "Are you there?"}, nil)
	h.waitFor("the send", func() bool { return len(h.wa.texts()) == 1 })
	// WhatsApp accepted it, then reports it failed: the window is closed. Twice, as
	// webhooks may be repeated.
	h.postSigned(statusWebhook("wamid.out-1", "failed"))
	h.postSigned(statusWebhook("wamid.out-1", "failed"))
	h.waitFor("the template", func() bool { return len(h.wa.texts()) == 2 })
	time.Sleep(200 * time.Millisecond)
	if got := h.wa.texts(); len(got) != 2 || got[1] != "template:habit_checkin" {
		t.Fatalf("sent %q", got)
	}
	_, receipts := h.do("GET", "/receipts", nil, nil)
	if n := len(receipts["result"].([]any)); n != 2 {
		t.Fatalf("receipts = %v", receipts)
	}
}

func TestSynchronous131047IsAnsweredWithTheTemplate(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.wa.mu.Lock()
	h.wa.refuseText = true
	h.wa.mu.Unlock()
	id := h.enroll("15551119999")
	h.postSigned(inboundWebhook("15551119999", "wamid.late", "hello?"))
	h.waitFor("the template", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != "template:habit_checkin" {
		t.Fatalf("sent %q", got)
	}
	_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
	msgs := log["result"].([]any)
	refused, template := msgs[1].(map[string]any), msgs[2].(map[string]any)
	if refused["status"] != "failed" || refused["error_code"].(float64) != 131047 || template["type"] != "template" {
		t.Fatalf("log = %v", msgs)
	}
}

func TestARefusedReplyFallsBackToTheAgentsOwnTemplate(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"response":"Time for your walk after breakfast!","state":"FEEDBACK","metadata":{},
			"template":{"name":"daily_prompt_reminder","parameters":["Ada","a walk after breakfast"]}}`)
	})
	h.wa.mu.Lock()
	h.wa.refuseText = true
	h.wa.mu.Unlock()
	h.enroll("15551118888")
	h.postSigned(inboundWebhook("15551118888", "wamid.quiet", "hi"))
	h.waitFor("the template", func() bool { return len(h.wa.texts()) == 1 })
	h.wa.mu.Lock()
	sent := h.wa.sends[0]
	h.wa.mu.Unlock()
	template := sent["template"].(map[string]any)
	if template["name"] != "daily_prompt_reminder" || template["language"].(map[string]any)["code"] != "en" {
		t.Fatalf("template = %v", template)
	}
	params := template["components"].([]any)[0].(map[string]any)["parameters"].([]any)
	if len(params) != 2 || params[1].(map[string]any)["text"] != "a walk after breakfast" {
		t.Fatalf("parameters = %v", params)
	}
}
