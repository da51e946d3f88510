// Package outbox sends queued outbound messages to WhatsApp, exactly once per row.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/inbound"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// WhatsApp is what the sender needs of the Graph API client.
type WhatsApp interface {
	Send(ctx context.Context, payload []byte, idempotencyKey string) (string, error)
}

// Sender drains the outbox.
type Sender struct {
	Store        *store.Store
	WhatsApp     WhatsApp
	Wake         inbound.Signal
	Metrics      *metrics.Metrics
	Log          *slog.Logger
	PollInterval time.Duration
	// Retry bounds the attempts at a retryable error before the row is marked failed,
	// and spaces them.
	Retry  retry.Policy
	Events *devevents.Feed // dev stack only: every send and its outcome
}

// Run sends until ctx is done.
func (s *Sender) Run(ctx context.Context) {
	for ctx.Err() == nil {
		found, err := s.Store.WithNextOutbox(ctx, s.send)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("sending outbox row", "error", err)
			s.Wake.Sleep(ctx, time.Second)
			continue
		}
		if !found {
			s.Wake.Sleep(ctx, s.PollInterval)
		}
	}
}

// send makes one attempt; the row stays locked meanwhile, and its id is the idempotency
// key, so a crash before commit leads to a resend that WhatsApp (our mock) answers with the
// first wamid instead of a second message.
func (s *Sender) send(tx pgx.Tx, it store.OutboxItem) error {
	ctx := context.Background()
	log := s.Log.With("outbox_id", it.ID, "phone", phone.Mask(it.Phone), "attempt", it.Attempts+1)
	started := time.Now()
	wamid, err := s.WhatsApp.Send(ctx, it.Payload, it.ID)
	event := map[string]any{
		"outbox_id": it.ID, "phone": phone.Mask(it.Phone), "attempt": it.Attempts + 1,
		"latency_ms": time.Since(started).Milliseconds(),
	}
	if err != nil {
		event["error"] = err.Error()
	}
	if err == nil {
		event["message_id"] = wamid
		s.Events.Record("outbox.sent", event)
		s.Metrics.OutboxSends.WithLabelValues("sent").Inc()
		log.Info("outbound message sent", "message_id", wamid)
		return s.Store.MarkOutboxSent(ctx, tx, it, wamid)
	}
	if retry.Retryable(err) && !s.Retry.Last(it.Attempts+1) {
		s.Metrics.OutboxSends.WithLabelValues("retry").Inc()
		next := time.Now().Add(s.Retry.Delay(it.Attempts+1, err))
		log.Warn("outbound send failed, will retry", "error", err, "next_attempt_at", next)
		s.Events.Record("outbox.retry", event)
		return store.MarkOutboxRetry(ctx, tx, it, err, next)
	}
	s.Metrics.OutboxSends.WithLabelValues("failed").Inc()
	log.Error("outbound send failed for good", "error", err)
	s.Events.Record("outbox.failed", event)
	var apiErr *whatsapp.APIError
	var code *int
	if errors.As(err, &apiErr) {
		code = &apiErr.Code
	}
	return s.Store.MarkOutboxFailed(ctx, tx, it, err, code)
}
