package devevents

import (
	"testing"
	"time"
)

func TestFeedKeepsTheLatestInOrder(t *testing.T) {
	f := NewFeed(3, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
	for _, kind := range []string{"a", "b", "c", "d"} {
		f.Record(kind, map[string]any{"k": kind})
	}
	got := f.After(0, 10)
	if len(got) != 3 || got[0].Kind != "b" || got[0].ID != 2 || got[2].ID != 4 {
		t.Fatalf("ring: %+v", got)
	}
	if got := f.After(2, 1); len(got) != 1 || got[0].Kind != "c" {
		t.Fatalf("after 2, limit 1: %+v", got)
	}
	if got := f.After(4, 10); len(got) != 0 {
		t.Fatalf("nothing new expected: %+v", got)
	}
}

func TestNilFeedRecordsNothing(t *testing.T) {
	var f *Feed
	f.Record("x", nil) // must not panic
}
