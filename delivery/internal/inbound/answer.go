// Package inbound answers inbound messages: enrolled participants through the agent,
// everyone else with a short acknowledgement. It is the handler of the queue's answer
// tasks; the reply goes to the outbox.
package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/outbox"
	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
)

// Texts delivery sends on its own; every other word comes from the agent.
const (
	// FallbackApology is the integration guide's answer when the agent cannot be reached.
	FallbackApology = "I apologize, but I'm having trouble processing your message right now. Please try again later."
	// Acknowledgement answers senders who are not active participants.
	Acknowledgement = "Thanks, your message has been received."
)

// Agent is what answering needs of the agent client.
type Agent interface {
	ProcessMessageWithRetry(ctx context.Context, req agent.ProcessMessageRequest, maxAttempts int) (*agent.ProcessMessageResponse, error)
}

// Messages is what answering needs of the store: the message a task is about, and the
// settle that queues its reply only while the task's lease holds.
type Messages interface {
	InboundWork(ctx context.Context, messageID int64) (store.InboundWork, error)
	AnswerInbound(ctx context.Context, t queue.Task, messageID int64, reply store.Outbound) error
}

// Answerer handles answer tasks.
type Answerer struct {
	Messages      Messages
	Agent         Agent
	AgentAttempts int
	Replied       func()    // a reply was queued (wakes the outbox)
	Receipts      *Receipts // nil: messages are not marked read
	Metrics       *metrics.Metrics
	Log           *slog.Logger
	Events        *devevents.Feed // dev stack only: what was answered, and how
	// Fallback answers when the agent failed after its retries (package arms: delivery's
	// Go responder); nil: FallbackApology.
	Fallback func(agent.ProcessMessageRequest) agent.ProcessMessageResponse
}

// Handle answers the message of one task: it reads the message, asks the agent with no
// transaction open, then settles. A crash before the settle leaves the lease to run out
// and the task is worked again; the agent answers a repeated message id from its record.
func (a *Answerer) Handle(ctx context.Context, t queue.Task) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return retry.Permanent(fmt.Errorf("answer task with a bad message id %q", t.Ref))
	}
	m, err := a.Messages.InboundWork(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return retry.Permanent(fmt.Errorf("answer task for message %d, which is gone", id))
	}
	if err != nil {
		return err
	}
	start := time.Now()
	log := a.Log.With("message_id", m.Wamid, "phone", phone.Mask(m.Phone), "attempt", t.Attempt)
	answer, route := agent.ProcessMessageResponse{Response: Acknowledgement}, "acknowledged"
	var participantID *string
	receiptSent := func() {}
	if p := m.Participant; p != nil {
		participantID = &p.ID
		log = log.With("participant_id", p.ID)
		if p.Status == store.StatusActive {
			// Only messages the coach works on are marked read: "typing…" promises an
			// answer in the making, and blue ticks say someone read them. Neither is true
			// for a paused or withdrawn participant or a stranger, whose message no one
			// reads and who gets the instant acknowledgement.
			receiptSent = a.Receipts.Start(m.Wamid, m.Phone)
			req := agent.ProcessMessageRequest{ParticipantID: p.ID, Message: m.Body, PhoneNumber: "+" + m.Phone, MessageID: m.Wamid}
			resp, err := a.Agent.ProcessMessageWithRetry(ctx, req, a.AgentAttempts)
			if err != nil {
				if ctx.Err() != nil {
					return err // shutting down: the task goes back, the apology would be wrong
				}
				log.Error("agent failed, sending the fallback", "error", err)
				answer, route = agent.ProcessMessageResponse{Response: FallbackApology}, "fallback"
				if a.Fallback != nil {
					answer = a.Fallback(req)
				}
			} else {
				answer, route = *resp, "agent"
				log = log.With("state", resp.State)
			}
		}
	}
	receiptSent() // before the reply can go out: see Receipts.Start
	if err := a.Messages.AnswerInbound(ctx, t, m.MessageID, outbox.Reply(m.Phone, participantID, answer)); err != nil {
		return err
	}
	if a.Replied != nil {
		a.Replied()
	}
	a.Metrics.InboundProcessed.WithLabelValues(route).Inc()
	a.Events.Record("reply.queued", map[string]any{
		"message_id": m.Wamid, "phone": phone.Mask(m.Phone), "route": route,
		"duration_ms": time.Since(start).Milliseconds(),
	})
	log.Info("inbound message answered", "route", route, "duration_ms", time.Since(start).Milliseconds())
	return nil
}
