package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// Refusals is what re-engagement needs of the store: the refused message, and the
// settle that queues its replacement once, only while the task's lease holds.
type Refusals interface {
	FailedMessage(ctx context.Context, id int64) (store.FailedMessage, error)
	QueueReplacement(ctx context.Context, t queue.Task, refusedID int64, o store.Outbound) error
	CompleteTask(ctx context.Context, t queue.Task) error
}

// Reengager handles reengage tasks: when WhatsApp refused a free-form message because
// the person has not written for 24 hours (131047, in the send's answer or later in a
// failed status), it sends an approved template instead, once. Any other failure is
// final and needs nothing.
type Reengager struct {
	Refusals Refusals
	// Default is sent when the agent named no template with its answer; with no name,
	// nothing is.
	Default whatsapp.Template
	Queued  func() // a replacement was queued (wakes the outbox)
	Log     *slog.Logger
}

// Handle decides, for one failed message, whether and what to send instead.
func (r *Reengager) Handle(ctx context.Context, t queue.Task) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return retry.Permanent(fmt.Errorf("reengage task with a bad message id %q", t.Ref))
	}
	m, err := r.Refusals.FailedMessage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r.Refusals.CompleteTask(ctx, t)
	}
	if err != nil {
		return err
	}
	template, ok := r.Replacement(m)
	if !ok {
		return r.Refusals.CompleteTask(ctx, t)
	}
	if err := r.Refusals.QueueReplacement(ctx, t, m.ID, store.Outbound{
		Phone: m.Phone, ParticipantID: m.ParticipantID, Type: "template", Body: "[template " + template.Name + "]",
		Payload: whatsapp.TemplateMessage(m.Phone, template),
	}); err != nil {
		return err
	}
	r.Log.Info("template queued for a message refused outside the 24-hour window",
		"phone", phone.Mask(m.Phone), "template", template.Name)
	if r.Queued != nil {
		r.Queued()
	}
	return nil
}

// Replacement is the template to send in place of m: none unless WhatsApp refused m
// for the closed window (and m was not a template already); then the one the agent
// named with its answer, in the default language if it named none, else the default.
func (r *Reengager) Replacement(m store.FailedMessage) (whatsapp.Template, bool) {
	if m.ErrorCode == nil || *m.ErrorCode != whatsapp.ErrCodeReengagement || m.Type == "template" {
		return whatsapp.Template{}, false
	}
	template := r.Default
	if own := m.Fallback; own != nil && own.Name != "" {
		template = *own
		if template.Language == "" {
			template.Language = r.Default.Language
		}
	}
	return template, template.Name != ""
}
