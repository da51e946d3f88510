package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// textMessage is one inbound text message of a webhook, its fields JSON-escaped (so a NUL
// travels as \u0000, as Meta would send it).
func textMessage(from, wamid, text string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Sprintf(`{"from":%s,"id":%s,"timestamp":"1700000000","type":"text","text":{"body":%s}}`, q(from), q(wamid), q(text))
}

// batchWebhook holds several inbound messages (and statuses) in one change, as Meta may.
func batchWebhook(messages []string, statuses ...string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"messages":[%s],"statuses":[%s]}}]}]}`,
		phoneID, strings.Join(messages, ","), strings.Join(statuses, ",")))
}

func TestAMessageThatCannotBeStoredIsDeadLetteredAndTheRestOfItsBatchIsProcessed(t *testing.T) {
	ag := &echoAgent{}
	h := newHarness(t, ag.ServeHTTP)
	id := h.enroll("15550001212")
	body := batchWebhook([]string{
		textMessage("15550001212", "wamid.nul", "bad \x00 byte"),
		textMessage("15550001212", "wamid.good", "Hello!"),
		textMessage("15550001212", "wamid.long", strings.Repeat("a", 4097)),
		textMessage("15550001212", "wamid.nul\x00id", "hi"),
		textMessage("not a phone", "wamid.nobody", "hi"),
	}, `{"id":"wamid.x\u0000","status":"sent","timestamp":"1700000001","recipient_id":"15550001212"}`)
	for range 2 { // Meta retries what it thinks failed; a second copy changes nothing
		if code := h.postSigned(body); code != http.StatusOK {
			t.Fatalf("the webhook answered %d, want 200 so that Meta does not retry it for days", code)
		}
	}
	h.waitFor("the good message's reply", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts(); got[0] != "echo: Hello!" {
		t.Fatalf("sends = %v", got)
	}
	_, log := h.do("GET", "/conversation/participants/"+id+"/messages", nil, nil)
	if n := len(log["result"].([]any)); n != 2 {
		t.Fatalf("message log has %d entries, want the good message and its reply", n)
	}

	code, resp := h.do("GET", "/dead-letters", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /dead-letters: %d %v", code, resp)
	}
	reasons := map[string]string{}
	for _, item := range resp["result"].([]any) {
		dl := item.(map[string]any)
		reasons[dl["message_id"].(string)] = dl["reason"].(string)
		if strings.ContainsRune(dl["excerpt"].(string), 0) {
			t.Fatalf("an excerpt holds a raw NUL: %q", dl["excerpt"])
		}
	}
	want := map[string]string{
		`wamid.nul`:       "nul_character",
		`wamid.long`:      "too_long",
		`wamid.nul\x00id`: "nul_character",
		`wamid.nobody`:    "invalid_sender",
		`wamid.x\x00`:     "nul_character",
	}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Fatalf("dead letters = %v, want %v", reasons, want)
	}
	metrics := h.metricsText()
	for reason, n := range map[string]int{"nul_character": 3, "too_long": 1, "invalid_sender": 1} {
		if line := fmt.Sprintf("delivery_dead_letters_total{reason=%q} %d\n", reason, n); !strings.Contains(metrics, line) {
			t.Fatalf("metrics lack %q", line)
		}
	}
	var kinds []string
	for _, e := range h.events.After(0, 100) {
		if e.Kind == "webhook.dead_letter" {
			kinds = append(kinds, e.Data["reason"].(string))
		}
	}
	if len(kinds) != 5 {
		t.Fatalf("dev events of dead letters: %v", kinds)
	}
}

// metricsText is what GET /metrics answers.
func (h *harness) metricsText() string {
	h.t.Helper()
	resp, err := http.Get(h.api.URL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
