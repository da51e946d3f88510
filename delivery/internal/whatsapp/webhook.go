// Package whatsapp speaks the WhatsApp Cloud API: webhook payloads, their signature, and
// the Graph API send endpoint.
package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxBodyLength bounds what one inbound message says, in characters: WhatsApp's text
// messages hold at most 4096, and nothing else it sends is longer.
const MaxBodyLength = 4096

// Webhook is the envelope Meta posts for field "messages".
type Webhook struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry groups the changes of one WhatsApp Business Account.
type Entry struct {
	ID      string   `json:"id"`
	Changes []Change `json:"changes"`
}

// Change is one batch of messages, statuses or errors.
type Change struct {
	Field string `json:"field"`
	Value Value  `json:"value"`
}

// Value carries the messages or statuses of one change.
type Value struct {
	MessagingProduct string           `json:"messaging_product"`
	Metadata         Metadata         `json:"metadata"`
	Contacts         []Contact        `json:"contacts"`
	Messages         []InboundMessage `json:"messages"`
	Statuses         []Status         `json:"statuses"`
}

// Metadata names the business phone number the change is about.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the sender's profile.
type Contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
}

// InboundMessage is a message a phone sent to the business.
type InboundMessage struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text,omitempty"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply,omitempty"`
		ListReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"list_reply,omitempty"`
	} `json:"interactive,omitempty"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button,omitempty"`
	Image *struct {
		ID      string `json:"id"`
		Caption string `json:"caption"`
	} `json:"image,omitempty"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
	} `json:"location,omitempty"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction,omitempty"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
	} `json:"contacts,omitempty"`
}

// Status reports what happened to a message the business sent.
type Status struct {
	ID          string        `json:"id"`
	Status      string        `json:"status"`
	Timestamp   string        `json:"timestamp"`
	RecipientID string        `json:"recipient_id"`
	Errors      []StatusError `json:"errors"`
}

// StatusError explains a failed status.
type StatusError struct {
	Code  int    `json:"code"`
	Title string `json:"title"`
}

// ErrBadSignature means X-Hub-Signature-256 is missing or does not match the body.
var ErrBadSignature = errors.New("invalid X-Hub-Signature-256")

// VerifySignature checks header ("sha256=<hex>") against HMAC-SHA256 of the raw body.
func VerifySignature(body []byte, header, appSecret string) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value for body (used by tests and fakes).
func Sign(body []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ParseWebhook decodes and sanity-checks a webhook body.
func ParseWebhook(body []byte) (*Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decoding webhook: %w", err)
	}
	if w.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("unexpected object %q", w.Object)
	}
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				if m.ID == "" || m.From == "" {
					return nil, errors.New("message without id or from")
				}
			}
			for _, s := range c.Value.Statuses {
				if s.ID == "" || s.Status == "" {
					return nil, errors.New("status without id or status")
				}
			}
		}
	}
	return &w, nil
}

// Body is what the agent is told the person said: the text they typed, the title of
// the button or row they tapped, or a short bracketed description of anything else
// ("[image] caption", "[location 52.5,13.4] Home"), so no message reaches it empty.
func (m InboundMessage) Body() string {
	switch {
	case m.Text != nil:
		return m.Text.Body
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		return m.Interactive.ButtonReply.Title
	case m.Interactive != nil && m.Interactive.ListReply != nil:
		return m.Interactive.ListReply.Title
	case m.Button != nil:
		return m.Button.Text
	case m.Image != nil:
		return strings.TrimSpace("[image] " + m.Image.Caption)
	case m.Location != nil:
		return strings.TrimSpace(fmt.Sprintf("[location %g,%g] %s", m.Location.Latitude, m.Location.Longitude, m.Location.Name))
	case m.Reaction != nil:
		return "[reaction " + m.Reaction.Emoji + "]"
	case len(m.Contacts) > 0:
		names := make([]string, 0, len(m.Contacts))
		for _, c := range m.Contacts {
			names = append(names, c.Name.FormattedName)
		}
		return "[contact " + strings.Join(names, ", ") + "]"
	}
	return "[" + m.Type + "]"
}

// Time parses Meta's unix-seconds string; zero when absent or malformed.
func ParseTimestamp(ts string) time.Time {
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}
