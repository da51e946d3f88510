package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// fakeOutbox is the store at the edge of the sender.
type fakeOutbox struct {
	rows      map[string]store.OutboxItem
	settleErr error
	sent      map[string]string // row id → wamid
	failed    map[string]*int   // row id → error code
	completed []queue.Task
}

func newFakeOutbox() *fakeOutbox {
	return &fakeOutbox{rows: map[string]store.OutboxItem{"ob_1": {ID: "ob_1", MessageID: 5, Phone: "15550001111", Payload: []byte(`{}`)}},
		sent: map[string]string{}, failed: map[string]*int{}}
}

func (f *fakeOutbox) OutboxItem(_ context.Context, id string) (store.OutboxItem, error) {
	it, ok := f.rows[id]
	if !ok {
		return it, store.ErrNotFound
	}
	return it, nil
}

func (f *fakeOutbox) MarkOutboxSent(_ context.Context, _ queue.Task, it store.OutboxItem, wamid string) error {
	if f.settleErr != nil {
		return f.settleErr
	}
	f.sent[it.ID] = wamid
	return nil
}

func (f *fakeOutbox) MarkOutboxFailed(_ context.Context, _ queue.Task, it store.OutboxItem, _ error, code *int) error {
	if f.settleErr != nil {
		return f.settleErr
	}
	f.failed[it.ID] = code
	return nil
}

func (f *fakeOutbox) CompleteTask(_ context.Context, t queue.Task) error {
	f.completed = append(f.completed, t)
	return nil
}

// fakeWhatsApp answers every send with err, or with a wamid.
type fakeWhatsApp struct {
	err  error
	keys []string
}

func (f *fakeWhatsApp) Send(_ context.Context, _ []byte, key string) (string, error) {
	f.keys = append(f.keys, key)
	if f.err != nil {
		return "", f.err
	}
	return "wamid.sent", nil
}

func newSender(o *fakeOutbox, wa *fakeWhatsApp) *Sender {
	return &Sender{Outbox: o, WhatsApp: wa, Retry: retry.Policy{Attempts: 3}, Metrics: metrics.New(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func sendTask(attempt int) queue.Task {
	return queue.Task{ID: 9, Kind: store.TaskSend, Ref: "ob_1", Attempt: attempt, Owner: "me"}
}

func TestASentRowRecordsItsWamidAndUsesItsIDAsIdempotencyKey(t *testing.T) {
	o, wa := newFakeOutbox(), &fakeWhatsApp{}
	if err := newSender(o, wa).Handle(context.Background(), sendTask(1)); err != nil {
		t.Fatal(err)
	}
	if o.sent["ob_1"] != "wamid.sent" || len(wa.keys) != 1 || wa.keys[0] != "ob_1" {
		t.Fatalf("sent = %v, keys = %v", o.sent, wa.keys)
	}
}

func TestAServerErrorGoesBackToTheQueueUntilTheLastAttempt(t *testing.T) {
	busy := &whatsapp.APIError{HTTPStatus: 503, Code: 2, Message: "try later"}
	o := newFakeOutbox()
	s := newSender(o, &fakeWhatsApp{err: busy})
	err := s.Handle(context.Background(), sendTask(1))
	if !errors.Is(err, busy) || !retry.Retryable(err) || len(o.failed) != 0 {
		t.Fatalf("first attempt: %v, failed = %v; want the error back to retry", err, o.failed)
	}
	if err := s.Handle(context.Background(), sendTask(3)); err != nil || len(o.failed) != 1 {
		t.Fatalf("last attempt: %v, failed = %v; want the row failed", err, o.failed)
	}
}

func TestAClosedWindowFailsTheRowAtOnceWithItsCode(t *testing.T) {
	o := newFakeOutbox()
	refused := &whatsapp.APIError{HTTPStatus: 400, Code: whatsapp.ErrCodeReengagement, Message: "re-engagement"}
	if err := newSender(o, &fakeWhatsApp{err: refused}).Handle(context.Background(), sendTask(1)); err != nil {
		t.Fatal(err)
	}
	if code := o.failed["ob_1"]; code == nil || *code != whatsapp.ErrCodeReengagement {
		t.Fatalf("failed = %v", o.failed)
	}
}

func TestARowNoLongerQueuedOnlyCompletesItsTask(t *testing.T) {
	o, wa := newFakeOutbox(), &fakeWhatsApp{}
	task := sendTask(2)
	task.Ref = "ob_gone"
	if err := newSender(o, wa).Handle(context.Background(), task); err != nil || len(o.completed) != 1 || len(wa.keys) != 0 {
		t.Fatalf("%v; completed %v, sends %v", err, o.completed, wa.keys)
	}
}

func TestALostLeaseIsReported(t *testing.T) {
	o := newFakeOutbox()
	o.settleErr = queue.ErrLeaseLost
	if err := newSender(o, &fakeWhatsApp{}).Handle(context.Background(), sendTask(1)); !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("Handle = %v", err)
	}
}
