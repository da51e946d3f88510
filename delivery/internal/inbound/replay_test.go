package inbound

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
)

func newReplayer(messages *fakeMessages, ag *fakeAgent, within time.Duration) *Replayer {
	return &Replayer{Messages: messages, Agent: ag, LateReplyWithin: within,
		Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// keptHello is adaHello answered with the apology, awaiting the agent.
func keptHello() map[int64]store.InboundWork {
	w := adaHello
	w.Status = store.InboundAwaitingAgent
	return map[int64]store.InboundWork{7: w}
}

var replay7 = queue.Task{ID: 2, Kind: store.TaskReplay, Ref: "7", Attempt: 1, Owner: "me"}

func TestAReplaySendsTheLateAnswerOnlyToTheLatestRecentMessage(t *testing.T) {
	for _, c := range []struct {
		name   string
		within time.Duration
		newer  bool
		age    time.Duration
		late   bool
	}{
		{"latest and recent", 10 * time.Minute, false, time.Minute, true},
		{"written since", 10 * time.Minute, true, time.Minute, false},
		{"too old", 10 * time.Minute, false, 11 * time.Minute, false},
		{"late replies off", 0, false, time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			messages := &fakeMessages{work: keptHello(), newer: c.newer, age: c.age}
			ag := &fakeAgent{}
			if err := newReplayer(messages, ag, c.within).Handle(context.Background(), replay7); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ag.ids(), []string{"wamid.7"}) || !slices.Equal(messages.handed, []int64{7}) || len(messages.settledBy) != 1 {
				t.Fatalf("agent calls %v, handed %v, settled %d times", ag.ids(), messages.handed, len(messages.settledBy))
			}
			if sent := len(messages.replies) == 1 && messages.replies[0].Body == "echo: hello"; sent != c.late {
				t.Fatalf("late answer sent = %v, want %v (replies %+v)", sent, c.late, messages.replies)
			}
			if c.late && fmt.Sprint(messages.replies[0].Payload["context"]) != "map[message_id:wamid.7]" {
				t.Fatalf("the late answer does not quote its message: %v", messages.replies[0].Payload)
			}
		})
	}
}

func TestAReplayWhileTheAgentIsStillDownIsTriedAgainLater(t *testing.T) {
	messages := &fakeMessages{work: keptHello()}
	ag := &fakeAgent{failOn: map[string]bool{"wamid.7": true}}
	err := newReplayer(messages, ag, time.Minute).Handle(context.Background(), replay7)
	if err == nil || !retry.Retryable(err) || len(messages.handed) != 0 || len(messages.settledBy) != 0 {
		t.Fatalf("Handle = %v, handed %v; want a retryable error and nothing settled", err, messages.handed)
	}
}

func TestAReplayWithNothingLeftToHandOverOnlyCompletes(t *testing.T) {
	done := keptHello()
	w := done[7]
	w.Status = store.InboundDone // the phone's next message handed it over already
	done[7] = w
	paused := keptHello()
	w = paused[7]
	p := *ada
	p.Status = store.StatusPaused
	w.Participant = &p
	paused[7] = w
	for name, work := range map[string]map[int64]store.InboundWork{"handed over": done, "paused": paused} {
		messages := &fakeMessages{work: work}
		ag := &fakeAgent{}
		if err := newReplayer(messages, ag, time.Minute).Handle(context.Background(), replay7); err != nil {
			t.Fatal(err)
		}
		if len(ag.calls) != 0 || len(messages.completed) != 1 || len(messages.replies) != 0 {
			t.Fatalf("%s: agent calls %d, completed %d, replies %d", name, len(ag.calls), len(messages.completed), len(messages.replies))
		}
	}
}

func TestAReplayOfAMessageThatIsGoneIsNotRetried(t *testing.T) {
	err := newReplayer(&fakeMessages{}, &fakeAgent{}, time.Minute).Handle(context.Background(), replay7)
	if err == nil || retry.Retryable(err) {
		t.Fatalf("Handle = %v, want an error not worth retrying", err)
	}
}
