package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"promptpipe/delivery/internal/whatsapp"
)

// A refused webhook says what is wrong in JSON's terms, never in Go's (no struct or
// package names of delivery's decoder).
func TestMalformedWebhookErrorsNameNoGoTypes(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	for body, want := range map[string]string{
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":15551234567,"id":"w"}]}}]}]}`: "entry.changes.value.messages.from",
		`{"object":"whatsapp_business_account","entry":{"id":"1"}}`:                                                             "entry",
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"errors":[{"code":"x"}]}]}}]}]}`:     "code",
		`["not", "an", "object"]`:                            "array",
		`{"object": "whatsapp_business_account", "entry": [`: "JSON",
	} {
		b := []byte(body)
		code, resp := h.do("POST", "/webhooks/whatsapp", b, map[string]string{"X-Hub-Signature-256": whatsapp.Sign(b, secret)})
		msg, _ := resp["message"].(string)
		if code != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %q, want 400 naming %q", body, code, msg, want)
		}
		for _, internal := range []string{"Go ", "struct", "whatsapp.", "InboundMessage", "[]", "int"} {
			if strings.Contains(msg, internal) {
				t.Errorf("%s: message %q names Go's %q", body, msg, internal)
			}
		}
	}
}
