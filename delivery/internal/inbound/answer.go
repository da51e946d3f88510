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

// Messages is what answering needs of the store: the message a task is about, the
// phone's messages still awaiting the agent, and the two settles (the agent's reply, or
// the apology with the message kept for the agent), each only while the task's lease holds.
type Messages interface {
	InboundWork(ctx context.Context, messageID int64) (store.InboundWork, error)
	AnswerInbound(ctx context.Context, t queue.Task, messageID int64, reply store.Outbound) error
	AnswerWithApology(ctx context.Context, t queue.Task, m store.InboundWork, apology store.Outbound, replayAt time.Time) error
	Backlog
}

// Answerer handles answer tasks.
type Answerer struct {
	Messages      Messages
	Agent         Agent
	AgentAttempts int
	// ReplayAfter is how long a message answered with the apology waits before the agent
	// is asked again (a replay task, see Replayer), in delivery's clock (Now).
	ReplayAfter time.Duration
	Now         func() time.Time // nil: real time
	Replied     func()           // a reply was queued (wakes the outbox)
	Receipts    *Receipts        // nil: messages are not marked read
	Metrics     *metrics.Metrics
	Log         *slog.Logger
	Events      *devevents.Feed // dev stack only: what was answered, and how
	// Fallback answers when the agent failed after its retries (package arms: delivery's
	// Go responder); nil: FallbackApology. Either way the message is kept for the agent.
	Fallback func(agent.ProcessMessageRequest) agent.ProcessMessageResponse
}

// Handle answers the message of one task: it reads the message, asks the agent with no
// transaction open, then settles. A crash before the settle leaves the lease to run out
// and the task is worked again; the agent answers a repeated message id from its record.
//
// When the agent cannot be reached after its retries, the participant gets the apology at
// once and the message is kept for the agent (awaiting_agent), with a replay task that
// hands it over when the agent is back. The phone's earlier kept messages go to the agent
// before this one, so the agent always sees a phone's messages in the order they came and
// its answer knows them all.
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
			backlog, err := a.Messages.AgentBacklog(ctx, m.Phone, m.MessageID-1)
			if err != nil {
				receiptSent()
				return err
			}
			resp, err := a.askAgent(ctx, p, m, backlog, log)
			if err != nil {
				if ctx.Err() != nil {
					receiptSent()
					return err // shutting down: the task goes back, the apology would be wrong
				}
				log.Error("agent failed, sending the fallback; the message is kept for the agent", "error", err)
				answer, route = agent.ProcessMessageResponse{Response: FallbackApology}, "fallback"
				if a.Fallback != nil {
					answer = a.Fallback(agent.ProcessMessageRequest{
						ParticipantID: p.ID, Message: m.Body, PhoneNumber: "+" + m.Phone, MessageID: m.Wamid})
				}
			} else {
				answer, route = *resp, "agent"
				log = log.With("state", resp.State)
			}
		}
	}
	receiptSent() // before the reply can go out: see Receipts.Start
	reply := outbox.Reply(m.Phone, participantID, answer)
	if route == "fallback" {
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		if err := a.Messages.AnswerWithApology(ctx, t, m, reply, now().Add(a.ReplayAfter)); err != nil {
			return err
		}
	} else if err := a.Messages.AnswerInbound(ctx, t, m.MessageID, reply); err != nil {
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

// askAgent hands the agent the phone's kept messages, oldest first, then m: if the agent
// cannot take one of them, m is not sent either, so the agent never sees it out of order.
func (a *Answerer) askAgent(ctx context.Context, p *store.Participant, m store.InboundWork, backlog []store.KeptTurn,
	log *slog.Logger) (*agent.ProcessMessageResponse, error) {
	if _, err := handOver(ctx, a.Agent, a.Messages, a.AgentAttempts, p, m.Phone, backlog, a.Metrics, log); err != nil {
		return nil, err
	}
	if len(backlog) > 0 {
		log.Info("kept messages handed to the agent before this one", "handed", len(backlog))
	}
	return a.Agent.ProcessMessageWithRetry(ctx, agent.ProcessMessageRequest{
		ParticipantID: p.ID, Message: m.Body, PhoneNumber: "+" + m.Phone, MessageID: m.Wamid,
	}, a.AgentAttempts)
}
