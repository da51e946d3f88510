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

// Backlog is what handing kept messages to the agent needs of the store: a phone's
// messages still awaiting the agent, oldest first, and the record that the agent has had
// one.
type Backlog interface {
	AgentBacklog(ctx context.Context, phone string, upTo int64) ([]store.KeptTurn, error)
	HandedToAgent(ctx context.Context, messageID int64) error
}

// Replays is what replaying needs of the store.
type Replays interface {
	InboundWork(ctx context.Context, messageID int64) (store.InboundWork, error)
	Backlog
	Since(ctx context.Context, messageID int64) (newer bool, age time.Duration, err error)
	SettleReplay(ctx context.Context, t queue.Task, late *store.Outbound) error
	CompleteTask(ctx context.Context, t queue.Task) error
}

// Replayer handles replay tasks: a message that was answered with the apology because the
// agent could not be reached is handed to the agent once it answers again, so that the
// agent's history holds every message. The task waits in its phone's replay lane; while
// the agent is still away it fails and the queue tries again later (its retry policy),
// one attempt at a time, so a long outage costs a call every little while, not a storm.
type Replayer struct {
	Messages Replays
	Agent    Agent
	// LateReplyWithin says whether the agent's late answer goes to the participant: only
	// when they have written nothing since (a newer message's answer already knows this
	// one, and an answer to an older message under it would confuse), and only this soon
	// after the message came, in real time; 0 never sends one. See the README.
	LateReplyWithin time.Duration
	Replied         func() // a late answer was queued (wakes the outbox)
	Metrics         *metrics.Metrics
	Log             *slog.Logger
	Events          *devevents.Feed
}

// Handle hands the task's message, and any kept before it, to the agent.
func (r *Replayer) Handle(ctx context.Context, t queue.Task) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return retry.Permanent(fmt.Errorf("replay task with a bad message id %q", t.Ref))
	}
	m, err := r.Messages.InboundWork(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return retry.Permanent(fmt.Errorf("replay task for message %d, which is gone", id))
	}
	if err != nil {
		return err
	}
	log := r.Log.With("message_id", m.Wamid, "phone", phone.Mask(m.Phone), "attempt", t.Attempt)
	p := m.Participant
	if m.Status != store.InboundAwaitingAgent {
		return r.Messages.CompleteTask(ctx, t) // the answer to a newer message handed it over
	}
	if p == nil || p.Status != store.StatusActive {
		// No one would read the answer; if they become active again, their next message
		// hands this one over first.
		log.Info("message kept for the agent, not replayed: the participant is not active")
		return r.Messages.CompleteTask(ctx, t)
	}
	turns, err := r.Messages.AgentBacklog(ctx, m.Phone, m.MessageID)
	if err != nil {
		return err
	}
	// One attempt: the queue's policy spaces the tries while the agent is away.
	resp, err := handOver(ctx, r.Agent, r.Messages, 1, p, m.Phone, turns, r.Metrics, log)
	if err != nil {
		return fmt.Errorf("replaying a kept message: %w", err)
	}
	var late *store.Outbound
	if n := len(turns); n > 0 && turns[n-1].MessageID == m.MessageID && resp != nil {
		if late, err = r.lateReply(ctx, m, *resp); err != nil {
			return err
		}
	}
	if err := r.Messages.SettleReplay(ctx, t, late); err != nil {
		return err
	}
	result := "withheld"
	if late != nil {
		result = "late_reply"
		if r.Replied != nil {
			r.Replied()
		}
		r.Events.Record("reply.queued", map[string]any{"message_id": m.Wamid, "phone": phone.Mask(m.Phone), "route": "late"})
	}
	r.Metrics.Replays.WithLabelValues(result).Inc()
	r.Events.Record("agent.replay", map[string]any{"message_id": m.Wamid, "phone": phone.Mask(m.Phone),
		"participant_id": p.ID, "handed": len(turns), "late_reply": late != nil})
	log.Info("kept message handed to the agent", "participant_id", p.ID, "handed", len(turns), "late_reply", late != nil)
	return nil
}

// lateReply is the agent's answer to m as a reply to send, or nil when it would come too
// late: the participant has written since, or it is older than LateReplyWithin.
func (r *Replayer) lateReply(ctx context.Context, m store.InboundWork, answer agent.ProcessMessageResponse) (*store.Outbound, error) {
	if r.LateReplyWithin <= 0 {
		return nil, nil
	}
	newer, age, err := r.Messages.Since(ctx, m.MessageID)
	if err != nil {
		return nil, err
	}
	if newer || age > r.LateReplyWithin {
		return nil, nil
	}
	reply := outbox.Reply(m.Phone, &m.Participant.ID, answer)
	// Sent as a WhatsApp reply to the message, which the phone shows quoted above the
	// answer: coming after an apology, it says which message it answers.
	reply.Payload["context"] = map[string]any{"message_id": m.Wamid}
	return &reply, nil
}

// handOver gives the agent each kept message in order and returns its answer to the last
// (nil for none); it stops at the first the agent could not take, and the rest wait. Each
// is marked handed over as soon as the agent has it (a failure to mark is only logged:
// the next asker is answered from the agent's record, nothing runs twice).
func handOver(ctx context.Context, ag Agent, backlog Backlog, attempts int, p *store.Participant, phoneNumber string,
	kept []store.KeptTurn, m *metrics.Metrics, log *slog.Logger) (*agent.ProcessMessageResponse, error) {
	var resp *agent.ProcessMessageResponse
	for _, turn := range kept {
		var err error
		resp, err = ag.ProcessMessageWithRetry(ctx, agent.ProcessMessageRequest{
			ParticipantID: p.ID, Message: turn.Body, PhoneNumber: "+" + phoneNumber, MessageID: turn.Wamid,
		}, attempts)
		if err != nil {
			return nil, err
		}
		if err := backlog.HandedToAgent(ctx, turn.MessageID); err != nil {
			log.Warn("recording a kept message as handed to the agent failed", "kept_message_id", turn.Wamid, "error", err)
		}
		m.Replays.WithLabelValues("handed").Inc()
	}
	return resp, nil
}
