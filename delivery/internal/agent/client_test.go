package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"promptpipe/delivery/internal/metrics"
)

func scripted(t *testing.T, statuses ...int) (*Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.URL.Path != "/process-message" || r.Method != http.MethodPost {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		var req ProcessMessageRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.MessageID != "wamid.1" {
			t.Errorf("message id not sent: %+v", req)
		}
		if n <= len(statuses) && statuses[n-1] != 200 {
			if statuses[n-1] == 429 {
				w.Header().Set("Retry-After", "0")
			}
			w.WriteHeader(statuses[n-1])
			return
		}
		_ = json.NewEncoder(w).Encode(ProcessMessageResponse{Response: "hi", State: "INTAKE"})
	}))
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL, time.Second, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.SetBackoff(time.Millisecond, 2*time.Millisecond)
	return c, &calls
}

var req = ProcessMessageRequest{ParticipantID: "p_1", Message: "hi", PhoneNumber: "+1555", MessageID: "wamid.1"}

func TestRetriesWhatMaySucceedLater(t *testing.T) {
	for _, statuses := range [][]int{{503, 500}, {429, 502}} {
		c, calls := scripted(t, statuses...)
		resp, err := c.ProcessMessageWithRetry(context.Background(), req, 3)
		if err != nil || resp.Response != "hi" || calls.Load() != 3 {
			t.Fatalf("%v: resp=%v err=%v calls=%d", statuses, resp, err, calls.Load())
		}
	}
}

func TestDoesNotRetryWhatCannotSucceed(t *testing.T) {
	for _, status := range []int{400, 404, 422, 501} {
		c, calls := scripted(t, status, status, status)
		if _, err := c.ProcessMessageWithRetry(context.Background(), req, 3); err == nil || calls.Load() != 1 {
			t.Fatalf("status %d: err=%v calls=%d", status, err, calls.Load())
		}
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	c, calls := scripted(t, 500, 500, 500, 500)
	if _, err := c.ProcessMessageWithRetry(context.Background(), req, 3); err == nil || calls.Load() != 3 {
		t.Fatalf("err=%v calls=%d", err, calls.Load())
	}
}

func TestStopsRetryingWhenTheContextEnds(t *testing.T) {
	c, calls := scripted(t, 500, 500, 500, 500)
	c.SetBackoff(time.Hour, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.ProcessMessageWithRetry(ctx, req, 4); err == nil || calls.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("err=%v calls=%d after %v", err, calls.Load(), time.Since(start))
	}
}

func TestHealth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL, time.Second, metrics.New(), slog.Default())
	if err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := c.Health(context.Background()); err == nil {
		t.Fatal("a closed agent looked healthy")
	}
}

func TestSendsTheAgentTokenWithEveryTurn(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		_ = json.NewEncoder(w).Encode(ProcessMessageResponse{Response: "hi", State: "INTAKE"})
	}))
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL, time.Second, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.Token = "s3cret"
	if _, err := c.ProcessMessage(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ProcessEvent(context.Background(), ProcessEventRequest{ParticipantID: "p_1", EventID: "e1", Kind: "reminder"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "Bearer s3cret" || got[1] != "Bearer s3cret" {
		t.Fatalf("Authorization headers = %q", got)
	}
}
