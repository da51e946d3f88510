package inbound

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
)

// fakeMessages is the store at the edge of the handler.
type fakeMessages struct {
	work      map[int64]store.InboundWork
	settleErr error
	replies   []store.Outbound
	settledBy []queue.Task
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

// fakeAgent is the agent client at the edge of the handler.
type fakeAgent struct {
	answer *agent.ProcessMessageResponse
	err    error
	calls  []agent.ProcessMessageRequest
}

func (f *fakeAgent) ProcessMessageWithRetry(_ context.Context, req agent.ProcessMessageRequest, _ int) (*agent.ProcessMessageResponse, error) {
	f.calls = append(f.calls, req)
	return f.answer, f.err
}

func newAnswerer(messages *fakeMessages, ag *fakeAgent) (*Answerer, *int) {
	replied := 0
	return &Answerer{Messages: messages, Agent: ag, AgentAttempts: 3, Replied: func() { replied++ },
		Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &replied
}

var (
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

func TestAnAgentThatFailsIsAnsweredWithTheApology(t *testing.T) {
	messages := &fakeMessages{work: map[int64]store.InboundWork{7: adaHello}}
	a, _ := newAnswerer(messages, &fakeAgent{err: errors.New("agent failed after retries: 503")})
	if err := a.Handle(context.Background(), task7); err != nil {
		t.Fatal(err)
	}
	if len(messages.replies) != 1 || messages.replies[0].Body != FallbackApology {
		t.Fatalf("replies = %+v", messages.replies)
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
