package inbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
)

// fakeMessages is the store at the edge of the handlers.
type fakeMessages struct {
	work      map[int64]store.InboundWork
	settleErr error
	replies   []store.Outbound
	settledBy []queue.Task
	kept      []int64     // messages answered with the apology, kept for the agent
	replayAt  []time.Time // when their replays are due
	handed    []int64     // kept messages marked handed to the agent
	completed []queue.Task
	newer     bool          // Since: the phone wrote after the message
	age       time.Duration // Since: how long ago the message came
}

func (f *fakeMessages) AnswerWithApology(_ context.Context, t queue.Task, m store.InboundWork, apology store.Outbound, at time.Time) error {
	if f.settleErr != nil {
		return f.settleErr
	}
	f.replies = append(f.replies, apology)
	f.settledBy = append(f.settledBy, t)
	f.kept = append(f.kept, m.MessageID)
	f.replayAt = append(f.replayAt, at)
	w := f.work[m.MessageID]
	w.Status = store.InboundAwaitingAgent
	f.work[m.MessageID] = w
	return nil
}

// AgentBacklog returns the kept messages up to upTo, oldest first, as the store does.
func (f *fakeMessages) AgentBacklog(_ context.Context, phone string, upTo int64) ([]store.KeptTurn, error) {
	var out []store.KeptTurn
	for id := int64(0); id <= upTo; id++ {
		if w, ok := f.work[id]; ok && w.Phone == phone && w.Status == store.InboundAwaitingAgent {
			out = append(out, store.KeptTurn{MessageID: id, Wamid: w.Wamid, Body: w.Body})
		}
	}
	return out, nil
}

func (f *fakeMessages) HandedToAgent(_ context.Context, id int64) error {
	f.handed = append(f.handed, id)
	w := f.work[id]
	w.Status = store.InboundDone
	f.work[id] = w
	return nil
}

func (f *fakeMessages) Since(context.Context, int64) (bool, time.Duration, error) {
	return f.newer, f.age, nil
}

func (f *fakeMessages) SettleReplay(_ context.Context, t queue.Task, late *store.Outbound) error {
	if f.settleErr != nil {
		return f.settleErr
	}
	f.settledBy = append(f.settledBy, t)
	if late != nil {
		f.replies = append(f.replies, *late)
	}
	return nil
}

func (f *fakeMessages) CompleteTask(_ context.Context, t queue.Task) error {
	f.completed = append(f.completed, t)
	return nil
}

func (f *fakeMessages) InboundWork(_ context.Context, id int64) (store.InboundWork, error) {
	w, ok := f.work[id]
	if !ok {
		return w, store.ErrNotFound
	}
	return w, nil
}

func (f *fakeMessages) AnswerInbound(_ context.Context, t queue.Task, _ int64, reply store.Outbound) error {
	if f.settleErr != nil {
		return f.settleErr
	}
	f.replies = append(f.replies, reply)
	f.settledBy = append(f.settledBy, t)
	return nil
}

// fakeAgent is the agent client at the edge of the handler: it answers "echo: <message>"
// unless answer or err say otherwise, and fails the calls listed in failOn (by message id).
type fakeAgent struct {
	answer *agent.ProcessMessageResponse
	err    error
	failOn map[string]bool
	calls  []agent.ProcessMessageRequest
}

func (f *fakeAgent) ProcessMessageWithRetry(_ context.Context, req agent.ProcessMessageRequest, _ int) (*agent.ProcessMessageResponse, error) {
	f.calls = append(f.calls, req)
	if f.failOn[req.MessageID] {
		return nil, errors.New("agent failed after retries: 502")
	}
	if f.answer == nil && f.err == nil {
		return &agent.ProcessMessageResponse{Response: "echo: " + req.Message, State: "INTAKE"}, nil
	}
	return f.answer, f.err
}

func (f *fakeAgent) ids() []string {
	var out []string
	for _, c := range f.calls {
		out = append(out, c.MessageID)
	}
	return out
}

func newAnswerer(messages *fakeMessages, ag *fakeAgent) (*Answerer, *int) {
	replied := 0
	return &Answerer{Messages: messages, Agent: ag, AgentAttempts: 3, Replied: func() { replied++ },
		ReplayAfter: time.Minute, Now: func() time.Time { return noon },
		Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &replied
}

var (
	noon     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ada      = &store.Participant{ID: "p_ada", PhoneNumber: "15550001111", Status: store.StatusActive}
	adaHello = store.InboundWork{MessageID: 7, Wamid: "wamid.7", Phone: "15550001111", Body: "hello", Participant: ada}
	task7    = queue.Task{ID: 1, Kind: store.TaskAnswer, Ref: "7", Attempt: 1, Owner: "me"}
)

func TestAnActiveParticipantIsAnsweredByTheAgent(t *testing.T) {
	messages := &fakeMessages{work: map[int64]store.InboundWork{7: adaHello}}
	ag := &fakeAgent{answer: &agent.ProcessMessageResponse{Response: "Hi Ada", State: "INTAKE"}}
	a, replied := newAnswerer(messages, ag)
	if err := a.Handle(context.Background(), task7); err != nil {
		t.Fatal(err)
	}
	if len(ag.calls) != 1 || ag.calls[0].MessageID != "wamid.7" || ag.calls[0].PhoneNumber != "+15550001111" || ag.calls[0].ParticipantID != "p_ada" {
		t.Fatalf("agent calls = %+v", ag.calls)
	}
	if len(messages.replies) != 1 || messages.replies[0].Body != "Hi Ada" || *messages.replies[0].ParticipantID != "p_ada" ||
		messages.settledBy[0] != task7 || *replied != 1 {
		t.Fatalf("replies = %+v, settled by %+v, replied %d times", messages.replies, messages.settledBy, *replied)
	}
}

func TestAStrangerAndAPausedParticipantGetTheAcknowledgement(t *testing.T) {
	paused := *ada
	paused.Status = store.StatusPaused
	stranger := adaHello
	stranger.Participant = nil
	pausedAda := adaHello
	pausedAda.Participant = &paused
	messages := &fakeMessages{work: map[int64]store.InboundWork{1: stranger, 2: pausedAda}}
	ag := &fakeAgent{}
	a, _ := newAnswerer(messages, ag)
	for _, ref := range []string{"1", "2"} {
		if err := a.Handle(context.Background(), queue.Task{Ref: ref, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if len(ag.calls) != 0 || len(messages.replies) != 2 || messages.replies[0].Body != Acknowledgement || messages.replies[1].Body != Acknowledgement {
		t.Fatalf("agent calls %d, replies %+v", len(ag.calls), messages.replies)
	}
}

func TestAnAgentThatFailsIsAnsweredWithTheApologyAndTheMessageIsKept(t *testing.T) {
	messages := &fakeMessages{work: map[int64]store.InboundWork{7: adaHello}}
	a, _ := newAnswerer(messages, &fakeAgent{err: errors.New("agent failed after retries: 503")})
	if err := a.Handle(context.Background(), task7); err != nil {
		t.Fatal(err)
	}
	if len(messages.replies) != 1 || messages.replies[0].Body != FallbackApology {
		t.Fatalf("replies = %+v", messages.replies)
	}
	if !slices.Equal(messages.kept, []int64{7}) || !messages.replayAt[0].Equal(noon.Add(time.Minute)) {
		t.Fatalf("kept %v, replay due %v; want message 7 kept, replayed after ReplayAfter", messages.kept, messages.replayAt)
	}
}

func TestKeptMessagesGoToTheAgentFirstInOrder(t *testing.T) {
	kept := func(id int64, text string) store.InboundWork {
		w := adaHello
		w.MessageID, w.Wamid, w.Body, w.Status = id, fmt.Sprintf("wamid.%d", id), text, store.InboundAwaitingAgent
		return w
	}
	latest := adaHello
	latest.MessageID, latest.Wamid, latest.Body = 9, "wamid.9", "three"
	messages := &fakeMessages{work: map[int64]store.InboundWork{3: kept(3, "one"), 5: kept(5, "two"), 9: latest}}
	ag := &fakeAgent{}
	a, _ := newAnswerer(messages, ag)
	if err := a.Handle(context.Background(), queue.Task{Ref: "9", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if got := ag.ids(); !slices.Equal(got, []string{"wamid.3", "wamid.5", "wamid.9"}) {
		t.Fatalf("agent calls %v, want the kept messages first, in order", got)
	}
	if !slices.Equal(messages.handed, []int64{3, 5}) || len(messages.replies) != 1 || messages.replies[0].Body != "echo: three" {
		t.Fatalf("handed %v, replies %+v", messages.handed, messages.replies)
	}
}

func TestWhenAKeptMessageStillFailsTheNewOneIsKeptTooAndNotSent(t *testing.T) {
	first := adaHello
	first.MessageID, first.Wamid, first.Status = 3, "wamid.3", store.InboundAwaitingAgent
	messages := &fakeMessages{work: map[int64]store.InboundWork{3: first, 7: adaHello}}
	ag := &fakeAgent{failOn: map[string]bool{"wamid.3": true}}
	a, _ := newAnswerer(messages, ag)
	if err := a.Handle(context.Background(), task7); err != nil {
		t.Fatal(err)
	}
	if got := ag.ids(); !slices.Equal(got, []string{"wamid.3"}) {
		t.Fatalf("agent calls %v: message 7 must not overtake message 3", got)
	}
	if !slices.Equal(messages.kept, []int64{7}) || messages.replies[0].Body != FallbackApology {
		t.Fatalf("kept %v, replies %+v", messages.kept, messages.replies)
	}
}

func TestALostLeaseDropsTheAnswer(t *testing.T) {
	messages := &fakeMessages{work: map[int64]store.InboundWork{7: adaHello}, settleErr: queue.ErrLeaseLost}
	a, replied := newAnswerer(messages, &fakeAgent{answer: &agent.ProcessMessageResponse{Response: "late"}})
	if err := a.Handle(context.Background(), task7); !errors.Is(err, queue.ErrLeaseLost) || *replied != 0 {
		t.Fatalf("Handle = %v, replied %d times; want the lost lease reported and nothing sent", err, *replied)
	}
}

func TestATaskForAMessageThatIsGoneIsNotRetried(t *testing.T) {
	a, _ := newAnswerer(&fakeMessages{}, &fakeAgent{})
	for _, ref := range []string{"99", "not a number"} {
		if err := a.Handle(context.Background(), queue.Task{Ref: ref}); err == nil || retry.Retryable(err) {
			t.Fatalf("ref %q: %v, want an error not worth retrying", ref, err)
		}
	}
}

func TestShutdownDuringTheAgentCallGivesTheTaskBackInsteadOfApologising(t *testing.T) {
	messages := &fakeMessages{work: map[int64]store.InboundWork{7: adaHello}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, _ := newAnswerer(messages, &fakeAgent{err: context.Canceled})
	if err := a.Handle(ctx, task7); err == nil || len(messages.replies) != 0 {
		t.Fatalf("Handle = %v, replies %+v", err, messages.replies)
	}
}
