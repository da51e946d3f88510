package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/queue"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.NewDatabase(t), 4)
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
