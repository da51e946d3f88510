package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/queue"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.NewMigratedDatabase(t, Migrate), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// An inbound message comes with its answer task; the answer is kept only when settled
// under the task's live lease, and once.
func TestAnInboundMessageIsAnsweredOnlyUnderItsLease(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	q := queue.Postgres{Pool: s.Pool}
	for range 2 { // Meta may deliver a webhook twice
		if _, err := s.RecordInbound(ctx, InboundMessage{Wamid: "wamid.1", Phone: "15550001111", Type: "text", Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := q.Claim(ctx, TaskAnswer, "crashed", time.Now(), time.Minute, 10)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claimed %+v, %v; want the one message", tasks, err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE tasks SET lease_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if err := q.Reap(ctx, TaskAnswer); err != nil {
		t.Fatal(err)
	}
	retaken, err := q.Claim(ctx, TaskAnswer, "alive", time.Now(), time.Minute, 10)
	if err != nil || len(retaken) != 1 {
		t.Fatalf("after the lease ran out, claimed %+v, %v", retaken, err)
	}
	work, err := s.InboundWork(ctx, mustID(t, tasks[0].Ref))
	if err != nil || work.Body != "hi" || work.Participant != nil {
		t.Fatalf("work = %+v, %v", work, err)
	}
	reply := Outbound{Phone: work.Phone, Type: "text", Body: "ack", Payload: map[string]any{"type": "text"}}
	if err := s.AnswerInbound(ctx, tasks[0], work.MessageID, reply); !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("the crashed worker settled: %v", err)
	}
	if err := s.AnswerInbound(ctx, retaken[0], work.MessageID, reply); err != nil {
		t.Fatal(err)
	}
	var outbound, depth int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE direction = 'outbound'`).Scan(&outbound); err != nil {
		t.Fatal(err)
	}
	if depth, err = s.InboundQueueDepth(ctx); err != nil || outbound != 1 || depth != 0 {
		t.Fatalf("outbound = %d, depth = %d, %v; want one reply and nothing left", outbound, depth, err)
	}
}

func mustID(t *testing.T, ref string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A message answered with the apology is kept for the agent, with a replay task due later
// in its phone's replay lane, apart from the phone's next message, which is not held up.
func TestAMessageAnsweredWithTheApologyIsKeptWithItsReplay(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	q := queue.Postgres{Pool: s.Pool}
	for _, wamid := range []string{"wamid.1", "wamid.2"} {
		if _, err := s.RecordInbound(ctx, InboundMessage{Wamid: wamid, Phone: "15550001111", Type: "text", Body: wamid}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	tasks, err := q.Claim(ctx, TaskAnswer, "me", now, time.Minute, 10)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claimed %+v, %v; want the first message only", tasks, err)
	}
	first, _ := s.InboundWork(ctx, mustID(t, tasks[0].Ref))
	apology := Outbound{Phone: first.Phone, Type: "text", Body: "sorry", Payload: map[string]any{"type": "text"}}
	if err := s.AnswerWithApology(ctx, tasks[0], first, apology, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.InboundWork(ctx, first.MessageID); w.Status != InboundAwaitingAgent {
		t.Fatalf("status = %q", w.Status)
	}
	// The next message is ready at once; the replay only when due.
	if next, err := q.Claim(ctx, TaskAnswer, "me", now, time.Minute, 10); err != nil || len(next) != 1 {
		t.Fatalf("next message: %+v, %v", next, err)
	}
	if early, _ := q.Claim(ctx, TaskReplay, "me", now, time.Minute, 10); len(early) != 0 {
		t.Fatalf("the replay was due before its time: %+v", early)
	}
	replays, err := q.Claim(ctx, TaskReplay, "me", now.Add(2*time.Hour), time.Minute, 10)
	if err != nil || len(replays) != 1 || replays[0].Ref != tasks[0].Ref || replays[0].Lane != "replay:15550001111" {
		t.Fatalf("replays %+v, %v", replays, err)
	}
	backlog, err := s.AgentBacklog(ctx, first.Phone, first.MessageID)
	if err != nil || len(backlog) != 1 || backlog[0].Wamid != "wamid.1" {
		t.Fatalf("backlog %+v, %v", backlog, err)
	}
	if newer, age, err := s.Since(ctx, first.MessageID); err != nil || !newer || age < 0 || age > time.Minute {
		t.Fatalf("Since = %v, %v, %v; want the second message seen as newer", newer, age, err)
	}
	if err := s.HandedToAgent(ctx, first.MessageID); err != nil {
		t.Fatal(err)
	}
	if backlog, _ := s.AgentBacklog(ctx, first.Phone, first.MessageID); len(backlog) != 0 {
		t.Fatalf("backlog after hand-over: %+v", backlog)
	}
	lost := replays[0]
	lost.Owner = "someone else"
	if err := s.SettleReplay(ctx, lost, &apology); !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("settled under a lease not ours: %v", err)
	}
	if err := s.SettleReplay(ctx, replays[0], nil); err != nil {
		t.Fatal(err)
	}
	var outbound int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE direction = 'outbound'`).Scan(&outbound); err != nil || outbound != 1 {
		t.Fatalf("outbound = %d, %v; want the apology only", outbound, err)
	}
}

// Messages of one phone that arrive together are answered in the order of the message
// log (their ids), the order the agent's history and the backlog of messages awaiting
// the agent rely on.
func TestConcurrentMessagesOfOnePhoneQueueInTheOrderOfTheLog(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	q := queue.Postgres{Pool: s.Pool}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RecordInbound(ctx, InboundMessage{Wamid: fmt.Sprintf("wamid.%d", i), Phone: "15550001111", Type: "text", Body: "hi"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var order []int64
	for range n {
		tasks, err := q.Claim(ctx, TaskAnswer, "me", time.Now(), time.Minute, 10)
		if err != nil || len(tasks) != 1 {
			t.Fatalf("claimed %+v, %v; want the lane's head only", tasks, err)
		}
		order = append(order, mustID(t, tasks[0].Ref))
		if err := s.CompleteTask(ctx, tasks[0]); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.IsSorted(order) {
		t.Fatalf("the lane answers messages %v, not in the log's order", order)
	}
}
