package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"unicode/utf8"

	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// Reasons of the webhook's own: what WhatsApp would never send.
const (
	reasonTooLong       = "too_long"       // longer than any WhatsApp message
	reasonInvalidSender = "invalid_sender" // "from" is no phone number
)

// maxWamidBytes bounds a message id; Meta's are under a hundred bytes.
const maxWamidBytes = 256

// messageDefect names why an inbound message can never be stored, or returns "" when it
// can: its sender is no phone number (senderErr), a field holds what Postgres text cannot
// (a NUL), or it is longer than WhatsApp allows. Such a message fails the same way on
// every retry, so it is set aside (a dead letter) rather than failing its webhook.
func messageDefect(m whatsapp.InboundMessage, senderErr error) string {
	body := m.Body()
	if reason := store.Unstorable(m.ID, m.Type, body); reason != "" {
		return reason
	}
	if utf8.RuneCountInString(body) > whatsapp.MaxBodyLength || len(m.ID) > maxWamidBytes {
		return reasonTooLong
	}
	if senderErr != nil {
		return reasonInvalidSender
	}
	return ""
}

// deadLetter keeps a webhook item that can never be stored, counts it and shows it in the
// dev feed. Only an error in keeping it (the database away) fails the webhook, which
// Meta then retries; a copy seen before is not counted again.
func (s *Server) deadLetter(ctx context.Context, d store.DeadLetter) error {
	recorded, err := s.Store.RecordDeadLetter(ctx, d)
	if err != nil || !recorded {
		return err
	}
	who := "invalid"
	if p, err := phone.Canonical(d.Phone); err == nil && store.Unstorable(d.Phone) == "" {
		who = phone.Mask(p)
	}
	id := store.Escape(d.Wamid, 64)
	s.Metrics.DeadLetters.WithLabelValues(d.Reason).Inc()
	s.Log.Warn("webhook item dead-lettered", "kind", d.Kind, "message_id", id, "phone", who, "reason", d.Reason)
	s.Events.Record("webhook.dead_letter", map[string]any{"kind": d.Kind, "message_id": id, "phone": who, "reason": d.Reason})
	return nil
}

// handleDeadLetters lists the webhook items set aside, newest first (?limit=, 100 by
// default, at most 1000).
func (s *Server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	items, err := s.Store.ListDeadLetters(r.Context(), limit)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	ok(w, http.StatusOK, "", items)
}
