package store

import (
	"context"
	"testing"
)

// What the webhook sets aside is what Postgres would refuse: the check and the database
// agree, and the database's own refusal is told apart from a lost connection.
func TestWhatCannotBeStoredIsRecognisedAndKeptEscaped(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	_, err := s.RecordInbound(ctx, InboundMessage{Wamid: "wamid.nul", Phone: "15550001111", Type: "text", Body: "a\x00b"})
	if err == nil || !IsUnstorable(err) {
		t.Fatalf("storing a NUL: %v, want Postgres's data exception", err)
	}
	if got := Unstorable("fine", "a\x00b"); got != ReasonNUL {
		t.Fatalf("Unstorable = %q", got)
	}
	if got := Unstorable("fine", "\xff"); got != ReasonBadUTF8 {
		t.Fatalf("Unstorable = %q", got)
	}
	if got := Unstorable("fine", "héllo 👋"); got != "" {
		t.Fatalf("Unstorable = %q", got)
	}
	for _, twice := range []bool{true, false} {
		recorded, err := s.RecordDeadLetter(ctx, DeadLetter{Kind: "message", Wamid: "wamid.\x00", Phone: "1555\xff",
			Reason: ReasonNUL, Excerpt: "a\x00b"})
		if err != nil || recorded != twice {
			t.Fatalf("RecordDeadLetter = %v, %v; want recorded the first time only", recorded, err)
		}
	}
	got, err := s.ListDeadLetters(ctx, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListDeadLetters = %+v, %v", got, err)
	}
	if d := got[0]; d.Wamid != `wamid.\x00` || d.Phone != `1555\xff` || d.Excerpt != `a\x00b` || d.Reason != ReasonNUL {
		t.Fatalf("dead letter = %+v", d)
	}
	if e := Escape("éééééé", 5); e != "éé…" { // cut between characters, never inside one
		t.Fatalf("Escape = %q", e)
	}
}
