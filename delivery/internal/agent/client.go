// Package agent is the HTTP client of the Python agent, as the integration guide specifies,
// with an idempotency key, retries that honour the context, and metrics.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/retry"
)

// Client represents the Python agent HTTP client.
type Client struct {
	baseURL    string
	httpClient *http.Client
	metrics    *metrics.Metrics
	log        *slog.Logger
	// backoff is the retry policy's waits; the number of attempts comes with each call.
	backoff retry.Policy
	// Now, when set, is sent as X-PromptPipe-Now: the agent's "now" in the dev stack's
	// virtual time.
	Now func() time.Time
	// Token, when set, is sent as a bearer token: the agent refuses callers without it.
	Token string
	// Faults, when set (dev stack only), can make every attempt fail or lag.
	Faults *Faults
	// Events, when set (dev stack only), records every attempt for the simulator.
	Events *devevents.Feed
	// Arm names this agent in the migration ("primary", "candidate") in its events.
	Arm string
	// Header is sent with every request: the shadow marker, or the ask for a comparison
	// (package arms, docs/migration.md).
	Header http.Header
}

// ShadowHeader marks a shadow turn (the agent runs it on a copy of the state, saves
// nothing and calls no delivery API); CompareHeader asks an agent to return its
// comparison (metadata.compare: the state before the turn and the tool calls with their
// arguments). Both are the contract's (docs/migration.md); package shadow uses them.
const (
	ShadowHeader  = "X-PromptPipe-Shadow"
	CompareHeader = "X-PromptPipe-Compare"
)

// MarkShadow returns the headers of a shadow call.
func MarkShadow() http.Header { return http.Header{ShadowHeader: []string{"true"}} }

// MarkCompare returns the headers of a serving call whose comparison is wanted.
func MarkCompare() http.Header { return http.Header{CompareHeader: []string{"true"}} }

// ProcessMessageRequest is the request to the Python agent. MessageID (the wamid) is our
// addition: the agent answers a repeated id from its record instead of running the turn again.
type ProcessMessageRequest struct {
	ParticipantID string `json:"participant_id"`
	Message       string `json:"message"`
	PhoneNumber   string `json:"phone_number"`
	MessageID     string `json:"message_id,omitempty"`
	// ShadowState is the conversation before the turn, for a shadow turn (package arms):
	// the agent runs the turn on it instead of its own record, and saves nothing.
	ShadowState json.RawMessage `json:"shadow_state,omitempty"`
}

// ProcessMessageResponse is the response from the Python agent. Buttons and Template are
// our additions (the guide's client ignores them): reply buttons to offer with the
// response, and the approved template to send instead if WhatsApp refuses the response
// because the participant has not written for 24 hours.
type ProcessMessageResponse struct {
	Response string         `json:"response"`
	State    string         `json:"state"`
	Metadata map[string]any `json:"metadata"`
	Buttons  []Button       `json:"buttons,omitempty"`
	Template *Template      `json:"template,omitempty"`
	// Arm is which agent of the migration answered (package arms); delivery's own
	// bookkeeping, recorded with the reply, never on the wire.
	Arm string `json:"-"`
}

// Template names an approved WhatsApp template and its body parameters; an empty
// language means delivery's configured one.
type Template struct {
	Name       string   `json:"name"`
	Language   string   `json:"language,omitempty"`
	Parameters []string `json:"parameters,omitempty"`
}

// Button is a reply button: WhatsApp shows the title and reports the id when tapped.
type Button struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ProcessEventRequest asks the agent what to say when a scheduled event is due. EventID
// is the idempotency key, as MessageID is for messages.
type ProcessEventRequest struct {
	ParticipantID string          `json:"participant_id"`
	PhoneNumber   string          `json:"phone_number"`
	EventID       string          `json:"event_id"`
	Kind          string          `json:"kind"`
	Payload       json.RawMessage `json:"payload"`
	ScheduledFor  time.Time       `json:"scheduled_for"`
	ShadowState   json.RawMessage `json:"shadow_state,omitempty"` // as for messages
}

// StatusError is a non-200 answer from the agent.
type StatusError struct {
	StatusCode int
	Body       string
	Wait       time.Duration // from Retry-After
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("agent returned error: %s (status %d)", e.Body, e.StatusCode)
}

// Retryable tells the retry policy whether the agent may answer better later.
func (e *StatusError) Retryable() bool { return retry.Status(e.StatusCode) }

// RetryAfter is the wait the agent asked for, if any.
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }

// NewClient creates a new agent client; timeout bounds each attempt.
func NewClient(baseURL string, timeout time.Duration, m *metrics.Metrics, log *slog.Logger) *Client {
	return &Client{
		baseURL:    baseURL,
		httpClient: &http.Client{Timeout: timeout, Transport: keepAlive()},
		metrics:    m,
		log:        log,
		backoff:    retry.Policy{Base: 250 * time.Millisecond, Cap: 5 * time.Second},
	}
}

// SetBackoff changes the retry delays (tests use tiny ones).
func (c *Client) SetBackoff(base, max time.Duration) { c.backoff.Base, c.backoff.Cap = base, max }

// ProcessMessage sends one message to the agent, once.
func (c *Client) ProcessMessage(ctx context.Context, req ProcessMessageRequest) (*ProcessMessageResponse, error) {
	return c.call(ctx, "/process-message", req, true)
}

// ProcessEvent tells the agent that a scheduled event is due, once. An empty response
// is allowed: some events change state and say nothing.
func (c *Client) ProcessEvent(ctx context.Context, req ProcessEventRequest) (*ProcessMessageResponse, error) {
	return c.call(ctx, "/process-event", req, false)
}

func (c *Client) call(ctx context.Context, path string, body any, needsResponse bool) (*ProcessMessageResponse, error) {
	start := time.Now()
	resp, err := c.post(ctx, path, body, needsResponse)
	if c.metrics == nil { // a shadow call: it serves no one, so the guide's metrics skip it
		return resp, err
	}
	state, status := "unknown", "error"
	if err == nil {
		state, status = resp.State, "success"
	}
	c.metrics.AgentRequestDuration.WithLabelValues(state).Observe(time.Since(start).Seconds())
	c.metrics.AgentRequestCount.WithLabelValues(state, status).Inc()
	return resp, err
}

func (c *Client) post(ctx context.Context, path string, body any, needsResponse bool) (*ProcessMessageResponse, error) {
	if err := c.Faults.apply(ctx, c.httpClient.Timeout); err != nil {
		return nil, fmt.Errorf("sending request: %w", err)
	}
	jsonData, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("marshalling request: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(jsonData))
	if err != nil {
		return nil, fmt.Errorf("creating request: %w", err)
	}
	for k, v := range c.Header {
		httpReq.Header[k] = v
	}
	httpReq.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Now != nil {
		httpReq.Header.Set("X-PromptPipe-Now", c.Now().UTC().Format(time.RFC3339Nano))
	}
	resp, err := c.httpClient.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("sending request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, &StatusError{StatusCode: resp.StatusCode, Body: string(body),
			Wait: retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	var answer io.Reader = resp.Body
	if c.Faults.mangles() {
		whole, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("reading response: %w", err)
		}
		answer = bytes.NewReader(whole[:len(whole)/2])
	}
	var result ProcessMessageResponse
	if err := json.NewDecoder(answer).Decode(&result); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if needsResponse && result.Response == "" {
		return nil, errors.New("agent answered with an empty response")
	}
	return &result, nil
}

// ProcessMessageWithRetry makes up to maxAttempts attempts, with jittered exponential
// backoff between them, retrying only what may succeed later (network errors, 429, 5xx
// but 501) and never once ctx is done. The message id makes retries safe for the agent.
func (c *Client) ProcessMessageWithRetry(ctx context.Context, req ProcessMessageRequest, maxAttempts int) (*ProcessMessageResponse, error) {
	return c.withRetry(ctx, maxAttempts, req.ParticipantID, req.MessageID, func() (*ProcessMessageResponse, error) {
		return c.ProcessMessage(ctx, req)
	})
}

// ProcessEventWithRetry is ProcessEvent with the same retry rules as messages.
func (c *Client) ProcessEventWithRetry(ctx context.Context, req ProcessEventRequest, maxAttempts int) (*ProcessMessageResponse, error) {
	return c.withRetry(ctx, maxAttempts, req.ParticipantID, req.EventID, func() (*ProcessMessageResponse, error) {
		return c.ProcessEvent(ctx, req)
	})
}

// withRetry makes the attempts under delivery's retry policy, recording each one.
func (c *Client) withRetry(ctx context.Context, maxAttempts int, participantID, key string, attempt func() (*ProcessMessageResponse, error)) (*ProcessMessageResponse, error) {
	policy := c.backoff
	policy.Attempts = maxAttempts
	var resp *ProcessMessageResponse
	err := policy.Do(ctx, func(n int) error {
		if n > 1 {
			c.metrics.AgentRetries.Inc()
		}
		started := time.Now()
		var err error
		resp, err = attempt()
		data := attemptData(participantID, key, n, maxAttempts, time.Since(started), err)
		if c.Arm != "" {
			data["arm"] = c.Arm
		}
		c.Events.Record("agent.call", data)
		if err != nil && !policy.Last(n) && retry.Retryable(err) {
			c.log.Warn("agent request failed", "attempt", n, "max_attempts", maxAttempts,
				"participant_id", participantID, "message_id", key, "error", err)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agent failed after retries: %w", err)
	}
	return resp, nil
}

func attemptData(participantID, key string, n, maxAttempts int, took time.Duration, err error) map[string]any {
	data := map[string]any{
		"participant_id": participantID, "key": key, "attempt": n, "max_attempts": maxAttempts,
		"latency_ms": took.Milliseconds(), "ok": err == nil,
	}
	if err != nil {
		data["error"] = err.Error()
	}
	return data
}

// Health checks the health of the Python agent.
func (c *Client) Health(ctx context.Context) error {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/health", nil)
	if err != nil {
		return fmt.Errorf("creating request: %w", err)
	}
	resp, err := c.httpClient.Do(httpReq)
	if err != nil {
		return fmt.Errorf("sending request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("agent health check failed: status %d", resp.StatusCode)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error { return retry.Sleep(ctx, d) }

// keepAlive is Go's default transport keeping many connections to one host alive: with
// many calls in flight (DELIVERY_CONCURRENCY), the default two would have most calls
// dial a new connection.
func keepAlive() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit over all hosts
	t.MaxIdleConnsPerHost = 512
	return t
}
