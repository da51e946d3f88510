// Package outbox sends queued outbound messages to WhatsApp, exactly once per row. It is
// the handler of the queue's send tasks.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// WhatsApp is what the sender needs of the Graph API client.
type WhatsApp interface {
	Send(ctx context.Context, payload []byte, idempotencyKey string) (string, error)
}

// Outbox is what the sender needs of the store: the row a task is about, and the two
// settles, each of which keeps its result only while the task's lease holds.
type Outbox interface {
	OutboxItem(ctx context.Context, id string) (store.OutboxItem, error)
	MarkOutboxSent(ctx context.Context, t queue.Task, it store.OutboxItem, wamid string) error
	MarkOutboxFailed(ctx context.Context, t queue.Task, it store.OutboxItem, cause error, code *int) error
	CompleteTask(ctx context.Context, t queue.Task) error
}

// Sender handles send tasks.
type Sender struct {
	Outbox   Outbox
	WhatsApp WhatsApp
	// Retry is the send runner's policy: a retryable error is handed back to the queue
	// to wait for, until the last attempt, which marks the row failed.
	Retry   retry.Policy
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Events  *devevents.Feed // dev stack only: every send and its outcome
}

// Handle makes one attempt at sending a row, with no transaction open. The row id is
// the Idempotency-Key, so the attempt a crash repeats (its lease ran out before the
// settle) is answered by WhatsApp (our mock) with the first wamid, not a second message.
func (s *Sender) Handle(ctx context.Context, t queue.Task) error {
	it, err := s.Outbox.OutboxItem(ctx, t.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return s.Outbox.CompleteTask(ctx, t) // sent or failed already: nothing left to do
	}
	if err != nil {
		return err
	}
	log := s.Log.With("outbox_id", it.ID, "phone", phone.Mask(it.Phone), "attempt", t.Attempt)
	started := time.Now()
	wamid, err := s.WhatsApp.Send(ctx, it.Payload, it.ID)
	event := map[string]any{
		"outbox_id": it.ID, "phone": phone.Mask(it.Phone), "attempt": t.Attempt,
		"latency_ms": time.Since(started).Milliseconds(),
	}
	if err == nil {
		if err := s.Outbox.MarkOutboxSent(ctx, t, it, wamid); err != nil {
			return err
		}
		event["message_id"] = wamid
		s.Events.Record("outbox.sent", event)
		s.Metrics.OutboxSends.WithLabelValues("sent").Inc()
		log.Info("outbound message sent", "message_id", wamid)
		return nil
	}
	event["error"] = err.Error()
	if ctx.Err() != nil {
		return err // shutting down: the task goes back untouched
	}
	if retry.Retryable(err) && !s.Retry.Last(t.Attempt) {
		s.Metrics.OutboxSends.WithLabelValues("retry").Inc()
		s.Events.Record("outbox.retry", event)
		return fmt.Errorf("sending to whatsapp: %w", err) // the queue waits, then tries again
	}
	var apiErr *whatsapp.APIError
	var code *int
	if errors.As(err, &apiErr) {
		code = &apiErr.Code
	}
	if err := s.Outbox.MarkOutboxFailed(ctx, t, it, err, code); err != nil {
		return err
	}
	s.Metrics.OutboxSends.WithLabelValues("failed").Inc()
	s.Events.Record("outbox.failed", event)
	log.Error("outbound send failed for good", "error", err)
	return nil
}
