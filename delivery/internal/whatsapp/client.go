package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"promptpipe/delivery/internal/retry"
)

// Client sends messages through the Graph API's messages endpoint.
type Client struct {
	apiURL        string // includes the version, e.g. http://127.0.0.1:8090/v21.0
	phoneNumberID string
	token         string
	http          *http.Client
}

// NewClient returns a client with a bounded per-request timeout.
func NewClient(apiURL, phoneNumberID, token string) *Client {
	return &Client{apiURL: apiURL, phoneNumberID: phoneNumberID, token: token,
		http: &http.Client{Timeout: 15 * time.Second, Transport: keepAlive()}}
}

// APIError is Meta's error object: build logic on Code, not on the HTTP status.
type APIError struct {
	HTTPStatus int
	Message    string `json:"message"`
	Type       string `json:"type"`
	Code       int    `json:"code"`
	FBTraceID  string `json:"fbtrace_id"`
	// Wait is what a Retry-After header asked for (Meta sends none; a proxy or our mock may).
	Wait time.Duration `json:"-"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("whatsapp error %d (http %d): %s", e.Code, e.HTTPStatus, e.Message)
}

// Retryable tells whether sending again later may succeed: rate limits (429, and Meta's
// throughput and pair-rate codes) and server errors (5xx but 501, Meta's codes 1 and 2).
func (e *APIError) Retryable() bool {
	return retry.Status(e.HTTPStatus) || e.Code == 130429 || e.Code == 131056 || e.Code == 1 || e.Code == 2
}

// RetryAfter is the wait the answer asked for, if any.
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

// IsRetryable reports whether err from Send is worth retrying (network errors are).
func IsRetryable(err error) bool { return retry.Retryable(err) }

// apiError reads Meta's error answer (or anything else a non-200 carried).
func apiError(resp *http.Response, body []byte) *APIError {
	var envelope struct {
		Error *APIError `json:"error"`
	}
	e := &APIError{Message: string(body)}
	if json.Unmarshal(body, &envelope) == nil && envelope.Error != nil {
		e = envelope.Error
	}
	e.HTTPStatus = resp.StatusCode
	e.Wait = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// TextMessage is the body of a plain text send.
func TextMessage(to, body string) map[string]any {
	return map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"to":                to,
		"type":              "text",
		"text":              map[string]any{"body": body, "preview_url": false},
	}
}

// ReplyButton is one reply button of an interactive message.
type ReplyButton struct {
	ID    string
	Title string
}

// maxButtons and maxButtonTitle are WhatsApp's limits for reply buttons.
const (
	maxButtons     = 3
	maxButtonTitle = 20
)

// ReplyMessage is a text message, or an interactive reply-button message when buttons
// are given; buttons beyond WhatsApp's limits are dropped rather than failing the send.
func ReplyMessage(to, body string, buttons []ReplyButton) (kind string, payload map[string]any) {
	var action []map[string]any
	for _, b := range buttons {
		if len(action) == maxButtons || b.ID == "" || b.Title == "" || len([]rune(b.Title)) > maxButtonTitle {
			continue
		}
		action = append(action, map[string]any{"type": "reply", "reply": map[string]any{"id": b.ID, "title": b.Title}})
	}
	if len(action) == 0 {
		return "text", TextMessage(to, body)
	}
	return "interactive", map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"to":                to,
		"type":              "interactive",
		"interactive": map[string]any{
			"type":   "button",
			"body":   map[string]any{"text": body},
			"action": map[string]any{"buttons": action},
		},
	}
}

// Template names an approved message template; the only kind of message WhatsApp
// delivers outside the 24-hour customer-service window.
type Template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	// Parameters fill the body's {{1}}, {{2}}... in order.
	Parameters []string `json:"parameters,omitempty"`
}

// ErrCodeReengagement is Meta's 131047: more than 24 hours since the person last wrote.
const ErrCodeReengagement = 131047

// TemplateMessage is the body of a template send, with its body parameters if any.
func TemplateMessage(to string, t Template) map[string]any {
	template := map[string]any{"name": t.Name, "language": map[string]any{"code": t.Language}}
	if len(t.Parameters) > 0 {
		params := make([]map[string]any, len(t.Parameters))
		for i, p := range t.Parameters {
			params[i] = map[string]any{"type": "text", "text": p}
		}
		template["components"] = []map[string]any{{"type": "body", "parameters": params}}
	}
	return map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"to":                to,
		"type":              "template",
		"template":          template,
	}
}

// Send posts a message payload and returns the wamid WhatsApp gave it. idempotencyKey
// travels as the Idempotency-Key header: Meta ignores it, our mock answers a repeated key
// with the first response, so a retried send cannot reach the phone twice.
func (c *Client) Send(ctx context.Context, payload []byte, idempotencyKey string) (string, error) {
	url := fmt.Sprintf("%s/%s/messages", c.apiURL, c.phoneNumberID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return "", fmt.Errorf("creating request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Idempotency-Key", idempotencyKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("posting to whatsapp: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading whatsapp response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", apiError(resp, body)
	}
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		return "", fmt.Errorf("whatsapp answered without a message id: %s", body)
	}
	return ok.Messages[0].ID, nil
}

// MarkRead tells WhatsApp the person's message (and every earlier one of the chat) was
// read, so their phone shows blue ticks; with typing it also shows "typing…" until the
// business's next message or for 25 seconds. Meta treats a repeat as a no-op, so no
// Idempotency-Key is needed.
func (c *Client) MarkRead(ctx context.Context, wamid string, typing bool) error {
	payload := map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
	if typing {
		payload["typing_indicator"] = map[string]any{"type": "text"}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encoding read receipt: %w", err)
	}
	url := fmt.Sprintf("%s/%s/messages", c.apiURL, c.phoneNumberID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("creating request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("posting read receipt: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading whatsapp response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return apiError(resp, answer)
	}
	var ok struct {
		Success bool `json:"success"`
	}
	if err := json.Unmarshal(answer, &ok); err != nil || !ok.Success {
		return fmt.Errorf("whatsapp did not confirm the read receipt: %s", answer)
	}
	return nil
}

// keepAlive is Go's default transport keeping many connections to one host alive: with
// many calls in flight (DELIVERY_CONCURRENCY), the default two would have most calls
// dial a new connection.
func keepAlive() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit over all hosts
	t.MaxIdleConnsPerHost = 512
	return t
}
