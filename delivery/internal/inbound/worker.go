// Package inbound answers queued inbound messages: enrolled participants through the
// agent, everyone else with a short acknowledgement. Replies go to the outbox.
package inbound

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// Texts delivery sends on its own; every other word comes from the agent.
const (
	// FallbackApology is the integration guide's answer when the agent cannot be reached.
	FallbackApology = "I apologize, but I'm having trouble processing your message right now. Please try again later."
	// Acknowledgement answers senders who are not active participants.
	Acknowledgement = "Thanks, your message has been received."
)

// Agent is what the worker needs of the agent client.
type Agent interface {
	ProcessMessageWithRetry(ctx context.Context, req agent.ProcessMessageRequest, maxAttempts int) (*agent.ProcessMessageResponse, error)
}

// Signal wakes sleeping loops at once when new work is committed; loops also poll, so a
// lost signal (or work committed by another process) only costs a poll interval.
type Signal chan struct{}

// NewSignal makes a Signal.
func NewSignal() Signal { return make(Signal, 1) }

// Notify wakes one waiting loop without blocking.
func (s Signal) Notify() {
	select {
	case s <- struct{}{}:
	default:
	}
}

// Workers process the inbound queue.
type Workers struct {
	Store         *store.Store
	Agent         Agent
	AgentAttempts int
	Count         int
	Wake          Signal // new inbound work
	OutboxWake    Signal // new outbound work
	Metrics       *metrics.Metrics
	Log           *slog.Logger
	PollInterval  time.Duration
	Events        *devevents.Feed // dev stack only: what was answered, and how
	Receipts      *Receipts       // nil: messages are not marked read
}

// Run starts Count workers and blocks until ctx is done and they have stopped.
func (w *Workers) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range w.Count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	wg.Wait()
}

func (w *Workers) loop(ctx context.Context) {
	for ctx.Err() == nil {
		found, err := w.Store.WithNextInbound(ctx, w.answer)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("processing inbound message", "error", err)
			Signal(nil).Sleep(ctx, time.Second+time.Duration(rand.Int64N(int64(time.Second))))
			continue
		}
		if found {
			w.OutboxWake.Notify()
			w.Wake.Notify() // there may be more: let a sibling look too
			continue
		}
		w.Wake.Sleep(ctx, w.PollInterval)
	}
}

// answer decides the reply to one message and queues it, inside the claim's transaction.
func (w *Workers) answer(tx pgx.Tx, m store.InboundWork) error {
	ctx := context.Background() // the agent call must not be cut short by shutdown mid-turn
	start := time.Now()
	log := w.Log.With("message_id", m.Wamid, "phone", phone.Mask(m.Phone))
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
			receiptSent = w.Receipts.Start(m.Wamid, m.Phone)
			resp, err := w.Agent.ProcessMessageWithRetry(ctx, agent.ProcessMessageRequest{
				ParticipantID: p.ID, Message: m.Body, PhoneNumber: "+" + m.Phone, MessageID: m.Wamid,
			}, w.AgentAttempts)
			if err != nil {
				log.Error("agent failed, sending fallback apology", "error", err)
				answer, route = agent.ProcessMessageResponse{Response: FallbackApology}, "fallback"
			} else {
				answer, route = *resp, "agent"
				log = log.With("state", resp.State)
			}
		}
	}
	receiptSent() // before the reply can go out: see Receipts.Start
	if err := store.EnqueueReply(ctx, tx, Reply(m.Phone, participantID, answer)); err != nil {
		return err
	}
	w.Metrics.InboundProcessed.WithLabelValues(route).Inc()
	w.Events.Record("reply.queued", map[string]any{
		"message_id": m.Wamid, "phone": phone.Mask(m.Phone), "route": route,
		"duration_ms": time.Since(start).Milliseconds(),
	})
	log.Info("inbound message answered", "route", route, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// Sleep waits for d, a Notify, or the end of ctx, whichever comes first. A nil Signal
// never wakes early.
func (s Signal) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s:
	case <-t.C:
	}
}

// Reply is the outbound message for what the agent said: text, or text with reply
// buttons when the agent offered some, with the agent's template fallback if any.
func Reply(phone string, participantID *string, answer agent.ProcessMessageResponse) store.Outbound {
	replyButtons := make([]whatsapp.ReplyButton, 0, len(answer.Buttons))
	for _, b := range answer.Buttons {
		replyButtons = append(replyButtons, whatsapp.ReplyButton{ID: b.ID, Title: b.Title})
	}
	kind, payload := whatsapp.ReplyMessage(phone, answer.Response, replyButtons)
	out := store.Outbound{Phone: phone, ParticipantID: participantID, Type: kind, Body: answer.Response, Payload: payload}
	if t := answer.Template; t != nil && t.Name != "" {
		out.Fallback = &whatsapp.Template{Name: t.Name, Language: t.Language, Parameters: t.Parameters}
	}
	return out
}
