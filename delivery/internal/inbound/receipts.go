package inbound

import (
	"context"
	"log/slog"
	"time"

	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/retry"
)

// ReadMarker is what Receipts needs of the WhatsApp client.
type ReadMarker interface {
	MarkRead(ctx context.Context, wamid string, typing bool) error
}

// Receipts marks a message read with the typing indicator while the agent works on it,
// as a good WhatsApp bot does: blue ticks, then "typing…", then the answer. It is
// best-effort: a receipt that fails or is slow is logged and counted, never allowed to
// fail the turn. A nil *Receipts sends nothing (WHATSAPP_MARK_READ=false).
type Receipts struct {
	WhatsApp ReadMarker
	Timeout  time.Duration // for the receipt and its retry together
	// Retry is the policy for the receipt: one retry, soon, is all it is worth.
	Retry   retry.Policy
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Events  *devevents.Feed
}

// Start sends the receipt for wamid in the background and returns a function that
// waits for it to finish. The worker calls that before queueing the reply: a receipt
// landing after the reply would show "typing…" under the answer for 25 seconds. The
// agent's turn nearly always outlasts the receipt, so the wait is usually nil, and it
// can never exceed Timeout.
func (r *Receipts) Start(wamid, phoneNumber string) (wait func()) {
	if r == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.send(wamid, phoneNumber)
	}()
	return func() { <-done }
}

func (r *Receipts) send(wamid, phoneNumber string) {
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	start := time.Now()
	attempts := 0
	// Only what may pass a moment later is retried (network, 429, 5xx), and only within
	// the same budget: a receipt is worth little once the answer is out.
	err := r.Retry.Do(ctx, func(n int) error {
		attempts = n
		return r.WhatsApp.MarkRead(ctx, wamid, true)
	})
	log := r.Log.With("message_id", wamid, "phone", phone.Mask(phoneNumber), "attempt", attempts,
		"duration_ms", time.Since(start).Milliseconds())
	data := map[string]any{"message_id": wamid, "phone": phone.Mask(phoneNumber), "attempts": attempts, "ok": err == nil}
	if err != nil {
		r.Metrics.ReadReceipts.WithLabelValues("failed").Inc()
		log.Warn("marking message read failed", "error", err)
		data["error"] = err.Error()
	} else {
		r.Metrics.ReadReceipts.WithLabelValues("ok").Inc()
		log.Debug("message marked read")
	}
	r.Events.Record("whatsapp.read", data)
}
