package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// receiptsCounted reads delivery_read_receipts_total{result} from /metrics, as Prometheus would.
func (h *harness) receiptsCounted(result string) string {
	h.t.Helper()
	resp, err := http.Get(h.api.URL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	prefix := `delivery_read_receipts_total{result="` + result + `"} `
	for _, line := range strings.Split(string(text), "\n") {
		if value, ok := strings.CutPrefix(line, prefix); ok {
			return value
		}
	}
	return "absent"
}

func TestParticipantsMessageIsMarkedReadWithTypingBeforeTheReply(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.enroll("15550010001")
	for range 2 { // a duplicated webhook is one message: one receipt
		h.postSigned(inboundWebhook("15550010001", "wamid.read-1", "Hello!"))
	}
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	time.Sleep(200 * time.Millisecond)
	h.wa.mu.Lock()
	defer h.wa.mu.Unlock()
	if len(h.wa.reads) != 1 {
		t.Fatalf("read receipts = %v, want one", h.wa.reads)
	}
	r := h.wa.reads[0]
	typing, _ := r["typing_indicator"].(map[string]any)
	if r["messaging_product"] != "whatsapp" || r["message_id"] != "wamid.read-1" || typing["type"] != "text" {
		t.Fatalf("receipt = %v", r)
	}
	// The receipt must come first: after the reply it would leave "typing…" under it.
	if h.wa.history[0] != "read" || h.wa.history[1] != "send" {
		t.Fatalf("order = %v", h.wa.history)
	}
	if got := h.receiptsCounted("ok"); got != "1" {
		t.Fatalf("ok receipts counted = %v", got)
	}
}

func TestStrangersAndPausedParticipantsAreNotMarkedRead(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	id := h.enroll("15550010002")
	if code, _ := h.do("PUT", "/conversation/participants/"+id, map[string]string{"status": "paused"}, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	h.postSigned(inboundWebhook("15550010002", "wamid.paused", "hi"))
	h.postSigned(inboundWebhook("15550019999", "wamid.stranger", "hi"))
	h.waitFor("two acknowledgements", func() bool { return len(h.wa.texts()) == 2 })
	if n := h.wa.readCount(); n != 0 {
		t.Fatalf("%d read receipts sent", n)
	}
}

func TestFailingReadReceiptIsRetriedOnceAndTheReplyStillGoesOut(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.wa.mu.Lock()
	h.wa.readAnswer = &struct {
		status int
		body   string
	}{http.StatusInternalServerError, `{"error":{"code":1,"message":"unknown"}}`}
	h.wa.mu.Unlock()
	h.enroll("15550010003")
	h.postSigned(inboundWebhook("15550010003", "wamid.read-3", "Hello!"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	if got := h.wa.texts()[0]; got != "echo: Hello!" {
		t.Fatalf("reply = %q", got)
	}
	if n := h.wa.readCount(); n != 2 {
		t.Fatalf("receipt attempts = %d, want 2 (one retry)", n)
	}
	if got := h.receiptsCounted("failed"); got != "1" {
		t.Fatalf("failed receipts counted = %v", got)
	}
}

func TestRefusedReadReceiptIsNotRetried(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.wa.mu.Lock()
	h.wa.readAnswer = &struct {
		status int
		body   string
	}{http.StatusBadRequest, `{"error":{"code":131009,"message":"(#131009) Parameter value is not valid"}}`}
	h.wa.mu.Unlock()
	h.enroll("15550010004")
	h.postSigned(inboundWebhook("15550010004", "wamid.read-4", "Hello!"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	if n := h.wa.readCount(); n != 1 {
		t.Fatalf("receipt attempts = %d, want 1", n)
	}
	if got := h.receiptsCounted("failed"); got != "1" {
		t.Fatalf("failed receipts counted = %v", got)
	}
}

func TestHangingReadReceiptIsAbandonedAndTheReplyStillGoesOut(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	h.wa.mu.Lock()
	h.wa.readHang = true
	h.wa.mu.Unlock()
	h.enroll("15550010005")
	h.postSigned(inboundWebhook("15550010005", "wamid.read-5", "Hello!"))
	h.waitFor("the reply", func() bool { return len(h.wa.texts()) == 1 })
	// The receipt's budget ran out (no retry after a timeout), and it was counted.
	if n := h.wa.readCount(); n != 1 {
		t.Fatalf("receipt attempts = %d, want 1", n)
	}
	if got := h.receiptsCounted("failed"); got != "1" {
		t.Fatalf("failed receipts counted = %v", got)
	}
}
