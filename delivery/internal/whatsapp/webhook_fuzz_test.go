package whatsapp

import (
	"encoding/json"
	"testing"
)

// FuzzParseWebhook: whatever bytes arrive (they are signed by Meta, or by anyone who has
// the secret), ParseWebhook never panics, and what it accepts holds what delivery relies
// on: the Cloud API's object, an id and a sender on every message, an id and a state on
// every status; reading a message's body and time cannot fail either, and the accepted
// webhook survives being written out and read back. scripts/test runs it for a few
// seconds; testdata/fuzz/FuzzParseWebhook holds its corpus.
func FuzzParseWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"100"},"contacts":[{"profile":{"name":"Ada"},"wa_id":"15551234567"}],"messages":[{"from":"15551234567","id":"wamid.1","timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"wamid.2","status":"failed","timestamp":"1700000001","recipient_id":"15551234567","errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"w","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"done","title":"Done"}}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"w","type":"location","location":{"latitude":52.5,"longitude":13.4,"name":"Home"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"w","type":"text","text":{"body":"nul \u0000 inside"}}]}}]}]}`,
		`{"object":"page"}`, `{`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		hook, err := ParseWebhook(body)
		if err != nil {
			if hook != nil {
				t.Fatalf("ParseWebhook returned a webhook with error %v", err)
			}
			return
		}
		if hook.Object != "whatsapp_business_account" {
			t.Fatalf("accepted object %q", hook.Object)
		}
		messages, statuses := 0, 0
		for _, e := range hook.Entry {
			for _, c := range e.Changes {
				for _, m := range c.Value.Messages {
					if m.ID == "" || m.From == "" {
						t.Fatalf("accepted a message without id or sender: %+v", m)
					}
					_ = m.Body()
					_ = ParseTimestamp(m.Timestamp)
					messages++
				}
				for _, s := range c.Value.Statuses {
					if s.ID == "" || s.Status == "" {
						t.Fatalf("accepted a status without id or state: %+v", s)
					}
					statuses++
				}
			}
		}
		again, err := json.Marshal(hook)
		if err != nil {
			t.Fatalf("accepted webhook cannot be written out: %v", err)
		}
		back, err := ParseWebhook(again)
		if err != nil {
			t.Fatalf("accepted webhook refused once written out: %v\n%s", err, again)
		}
		if n, s := count(back); n != messages || s != statuses {
			t.Fatalf("round trip changed the webhook: %d/%d messages, %d/%d statuses", n, messages, s, statuses)
		}
	})
}

func count(w *Webhook) (messages, statuses int) {
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			messages += len(c.Value.Messages)
			statuses += len(c.Value.Statuses)
		}
	}
	return messages, statuses
}
