package httpapi

import (
	"io"
	"net/http"

	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// maxWebhookBytes bounds a webhook body; Meta's are a few kilobytes.
const maxWebhookBytes = 1 << 20

// handleVerify answers Meta's subscription handshake with the raw challenge.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != s.VerifyToken || q.Get("hub.challenge") == "" {
		http.Error(w, "verification failed", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

// handleWebhook verifies, records and queues; answering fast is Meta's contract, so the
// real work happens in the inbound workers.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		s.Metrics.WebhooksReceived.WithLabelValues("too_large").Inc()
		fail(w, http.StatusRequestEntityTooLarge, "Webhook body too large")
		return
	}
	if err := whatsapp.VerifySignature(body, r.Header.Get("X-Hub-Signature-256"), s.AppSecret); err != nil {
		s.Metrics.WebhooksReceived.WithLabelValues("bad_signature").Inc()
		s.Log.Warn("webhook refused", "error", err)
		s.Events.Record("webhook.refused", map[string]any{"reason": "bad signature"})
		fail(w, http.StatusUnauthorized, "Invalid X-Hub-Signature-256")
		return
	}
	hook, err := whatsapp.ParseWebhook(body)
	if err != nil {
		s.Metrics.WebhooksReceived.WithLabelValues("malformed").Inc()
		fail(w, http.StatusBadRequest, "Malformed webhook: "+jsonProblem(err))
		return
	}
	queued := false
	for _, entry := range hook.Entry {
		for _, change := range entry.Changes {
			for _, m := range change.Value.Messages {
				from, err := phone.Canonical(m.From)
				reason := messageDefect(m, err)
				var recorded bool
				if reason == "" {
					recorded, err = s.Store.RecordInbound(r.Context(), store.InboundMessage{
						Wamid: m.ID, Phone: from, Type: m.Type, Body: m.Body(),
					})
					if store.IsUnstorable(err) {
						reason = store.ReasonUnstorable
					} else if err != nil {
						s.failWebhook(w, r, err)
						return
					}
				}
				if reason != "" {
					// One message that can never be stored must not hold back the rest.
					dl := store.DeadLetter{Kind: "message", Wamid: m.ID, Phone: m.From, Reason: reason, Excerpt: m.Body()}
					if err := s.deadLetter(r.Context(), dl); err != nil {
						s.failWebhook(w, r, err)
						return
					}
					continue
				}
				queued = queued || recorded
				s.Log.Info("webhook message accepted", "message_id", m.ID, "phone", phone.Mask(from), "duplicate", !recorded)
				s.Events.Record("webhook.message", map[string]any{
					"message_id": m.ID, "phone": phone.Mask(from), "type": m.Type, "duplicate": !recorded,
				})
			}
			for _, st := range change.Value.Statuses {
				at := whatsapp.ParseTimestamp(st.Timestamp)
				if at.IsZero() {
					at = s.Clock.Now()
				}
				var code *int
				var title *string
				if len(st.Errors) > 0 {
					code, title = &st.Errors[0].Code, &st.Errors[0].Title
				}
				reason := store.Unstorable(st.ID, st.Status, st.RecipientID)
				if title != nil && reason == "" {
					reason = store.Unstorable(*title)
				}
				if reason == "" {
					err := s.Store.RecordStatus(r.Context(), st.ID, st.Status, at, code, title)
					if store.IsUnstorable(err) {
						reason = store.ReasonUnstorable
					} else if err != nil {
						s.failWebhook(w, r, err)
						return
					}
				}
				if reason != "" {
					dl := store.DeadLetter{Kind: "status", Wamid: st.ID, Phone: st.RecipientID, Reason: reason, Excerpt: st.Status}
					if err := s.deadLetter(r.Context(), dl); err != nil {
						s.failWebhook(w, r, err)
						return
					}
					continue
				}
				status := map[string]any{"message_id": st.ID, "status": st.Status}
				if code != nil {
					status["error_code"] = *code
				}
				s.Events.Record("webhook.status", status)
			}
		}
	}
	if queued {
		s.InboundWake.Wake()
	}
	s.Metrics.WebhooksReceived.WithLabelValues("accepted").Inc()
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// failWebhook answers 500 so that WhatsApp retries later; nothing was half-written because
// each record is its own transaction and duplicates are ignored on redelivery.
func (s *Server) failWebhook(w http.ResponseWriter, r *http.Request, err error) {
	s.Metrics.WebhooksReceived.WithLabelValues("error").Inc()
	s.storeError(w, r, err, "")
}
