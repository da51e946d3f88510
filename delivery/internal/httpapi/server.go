// Package httpapi is delivery's HTTP surface: WhatsApp webhooks, PromptPipe's admin API,
// health and metrics.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/store"
)

// Server holds what the handlers need.
type Server struct {
	Store       *store.Store
	Metrics     *metrics.Metrics
	Log         *slog.Logger
	AppSecret   string
	VerifyToken string
	APIToken    string
	// Told when new work is committed, so that it starts at once rather than at the
	// next poll: an inbound message, an outbound message, a job or a clock move.
	InboundWake Waker
	OutboxWake  Waker
	JobsWake    Waker
	Clock       *clock.Clock
	// AgentFaults is the dev stack's agent fault switch; nil (no /dev/faults routes)
	// unless the clock is virtual, the same gate as /dev/clock.
	AgentFaults *agent.Faults
	// Events is the dev stack's feed of delivery's work (GET /dev/events); nil otherwise.
	Events *devevents.Feed
	// Gate pauses the work queue for a world save or load (/dev/world); nil unless the
	// clock is virtual.
	Gate *queue.Gate
	// Migration is the agent arms' report and controls (/dev/migration); nil: none.
	Migration *Migration
	// CandidateFaults is the candidate agent's fault switch, gated as AgentFaults is and
	// nil without a candidate.
	CandidateFaults *agent.Faults
}

// Waker is a queue runner (or anything) told that work may be waiting.
type Waker interface{ Wake() }

// Timeouts bound how long one client may hold a connection in each phase.
type Timeouts struct {
	ReadHeader time.Duration // until the headers are in
	Read       time.Duration // until the whole request, body included, is in
	Write      time.Duration // until the answer is written: the longest handler is a
	// /dev/clock trip, whose due jobs each wait for the agent (retries included)
	Idle time.Duration // a keep-alive connection between requests
}

// DefaultTimeouts are delivery's: a slow body or an idle keep-alive is cut off, and a
// handler still has time for a trip through time.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 5 * time.Minute, Idle: time.Minute}

// NewHTTPServer is delivery's http.Server: every phase of a connection has a timeout and
// headers are capped at 64 KiB (bodies are capped by each handler, 1 MiB).
func NewHTTPServer(addr string, handler http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Addr: addr, Handler: handler,
		ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle,
		MaxHeaderBytes: 64 << 10,
	}
}

// envelope is PromptPipe's response shape.
type envelope struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Result  any    `json:"result,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, status int, message string, result any) {
	writeJSON(w, status, envelope{Status: "ok", Message: message, Result: result})
}

func fail(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, envelope{Status: "error", Message: message})
}

// storeError maps storage errors to HTTP in one place; internals are logged, not shown.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(w, http.StatusNotFound, notFound)
	case errors.Is(err, context.Canceled):
		fail(w, http.StatusServiceUnavailable, "Request cancelled")
	default:
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		fail(w, http.StatusInternalServerError, "Internal server error")
	}
}

// jsonProblem says what is wrong with a body that did not decode, in JSON's terms: the
// field's path and the JSON types, never the Go types of delivery's decoder.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var mismatch *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "not valid JSON (" + syntax.Error() + ")"
	case errors.As(err, &mismatch) && mismatch.Field == "":
		return fmt.Sprintf("the body must be a JSON %s, not %s", jsonType(mismatch.Type), article(mismatch.Value))
	case errors.As(err, &mismatch):
		return fmt.Sprintf("%s must be %s, not %s", mismatch.Field, article(jsonType(mismatch.Type)), article(mismatch.Value))
	}
	return err.Error()
}

// jsonType names the JSON type a Go type is decoded from.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	return "value"
}

// article puts "a" or "an" before a JSON type ("a string", "an array", "a number 1e999").
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// decodeJSON reads a JSON body into v; PromptPipe's text on failure.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON format")
		return false
	}
	return true
}
