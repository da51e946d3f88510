package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"promptpipe/delivery/internal/pgtest"
	"promptpipe/delivery/internal/queue"
)

// A "failed" status webhook may arrive while the send that learns its wamid is still
// being settled (Meta answers the send, then reports the failure at once). Whichever
// commits first, the message must end failed with its replacement task queued: none of
// the pairs, started together, may lose the failure between the two transactions.
func TestAFailedStatusRacingItsSendIsNeverLost(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewMigratedDatabase(t, Migrate), 20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const pairs = 60
	for i := range pairs {
		phone := fmt.Sprintf("1555000%04d", i)
		o := Outbound{Phone: phone, Type: "text", Body: "hi", Payload: map[string]any{"to": phone}}
		if err := s.QueueText(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := queue.Postgres{Pool: s.Pool}.Claim(ctx, TaskSend, "test", time.Now().Add(time.Hour), time.Minute, pairs)
	if err != nil || len(tasks) != pairs {
		t.Fatalf("claimed %d tasks: %v", len(tasks), err)
	}
	code, title := 131047, "Re-engagement message"
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2*pairs)
	for i, task := range tasks {
		item, err := s.OutboxItem(ctx, task.Ref)
		if err != nil {
			t.Fatal(err)
		}
		wamid := fmt.Sprintf("wamid.race-%d", i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			errs <- s.MarkOutboxSent(ctx, task, item, wamid)
		}()
		go func() {
			defer wg.Done()
			<-start
			errs <- s.RecordStatus(ctx, wamid, "failed", time.Now(), &code, &title)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var failed, reengage int
	if err := s.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM messages WHERE status = 'failed' AND error_code = 131047),
			(SELECT count(*) FROM tasks WHERE kind = $1)`, TaskReengage).Scan(&failed, &reengage); err != nil {
		t.Fatal(err)
	}
	if failed != pairs || reengage != pairs {
		t.Fatalf("of %d refused sends, %d ended failed and %d replacements were queued", pairs, failed, reengage)
	}
}
