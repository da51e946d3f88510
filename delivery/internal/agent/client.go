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
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
)

// Client represents the Python agent HTTP client.
type Client struct {
	baseURL    string
	httpClient *http.Client
	metrics    *metrics.Metrics
	log        *slog.Logger
	// baseDelay is the first retry's backoff; each retry doubles it (with full jitter).
	baseDelay time.Duration
	maxDelay  time.Duration
	// Now, when set, is sent as X-PromptPipe-Now: the agent's "now" in the dev stack's
	// virtual time.
	Now func() time.Time
	// Token, when set, is sent as a bearer token: the agent refuses callers without it.
	Token string
	// Faults, when set (dev stack only), can make every attempt fail or lag.
	Faults *Faults
	// Events, when set (dev stack only), records every attempt for the simulator.
	Events *devevents.Feed
}

// ProcessMessageRequest is the request to the Python agent. MessageID (the wamid) is our
// addition: the agent answers a repeated id from its record instead of running the turn again.
type ProcessMessageRequest struct {
	ParticipantID string `json:"participant_id"`
	Message       string `json:"message"`
	PhoneNumber   string `json:"phone_number"`
	MessageID     string `json:"message_id,omitempty"`
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
}

// StatusError is a non-200 answer from the agent.
type StatusError struct {
	StatusCode int
	Body       string
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("agent returned error: %s (status %d)", e.Body, e.StatusCode)
}

// NewClient creates a new agent client; timeout bounds each attempt.
func NewClient(baseURL string, timeout time.Duration, m *metrics.Metrics, log *slog.Logger) *Client {
	return &Client{
		baseURL:    baseURL,
		httpClient: &http.Client{Timeout: timeout},
		metrics:    m,
		log:        log,
		baseDelay:  250 * time.Millisecond,
		maxDelay:   5 * time.Second,
	}
}

// SetBackoff changes the retry delays (tests use tiny ones).
func (c *Client) SetBackoff(base, max time.Duration) { c.baseDelay, c.maxDelay = base, max }

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
		return nil, &StatusError{StatusCode: resp.StatusCode, Body: string(body), RetryAfter: retryAfter(resp)}
	}
	var result ProcessMessageResponse
	if err := json.NewDecoder(resp.Body).Decode(&result); err != nil {
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

func (c *Client) withRetry(ctx context.Context, maxAttempts int, participantID, key string, attempt func() (*ProcessMessageResponse, error)) (*ProcessMessageResponse, error) {
	var lastErr error
	for n := 1; n <= maxAttempts; n++ {
		if n > 1 {
			c.metrics.AgentRetries.Inc()
			if err := sleep(ctx, c.backoff(n-1, lastErr)); err != nil {
				return nil, fmt.Errorf("waiting to retry: %w (last error: %v)", err, lastErr)
			}
		}
		started := time.Now()
		resp, err := attempt()
		c.Events.Record("agent.call", attemptData(participantID, key, n, maxAttempts, time.Since(started), err))
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retryable(ctx, err) {
			break
		}
		c.log.Warn("agent request failed", "attempt", n, "max_attempts", maxAttempts,
			"participant_id", participantID, "message_id", key, "error", err)
	}
	return nil, fmt.Errorf("agent failed after retries: %w", lastErr)
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

func (c *Client) backoff(retry int, lastErr error) time.Duration {
	var se *StatusError
	if errors.As(lastErr, &se) && se.RetryAfter > 0 {
		return min(se.RetryAfter, c.maxDelay)
	}
	ceiling := min(c.baseDelay<<(retry-1), c.maxDelay)
	return time.Duration(rand.Int64N(int64(ceiling) + 1)) // full jitter
}

func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode == http.StatusTooManyRequests ||
			(se.StatusCode >= 500 && se.StatusCode != http.StatusNotImplemented)
	}
	return true // network errors, timeouts, undecodable answers
}

func retryAfter(resp *http.Response) time.Duration {
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
