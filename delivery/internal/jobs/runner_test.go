package jobs

import (
	"testing"
	"time"
)

func TestNextDaily(t *testing.T) {
	toronto, _ := time.LoadLocation("America/Toronto")
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		after, hhmm, want string
	}{
		{"2026-03-05T10:00:00Z", "07:30", "2026-03-05T12:30:00Z"}, // 05:00 local: later today
		{"2026-03-05T13:00:00Z", "07:30", "2026-03-06T12:30:00Z"}, // 08:00 local: tomorrow
		{"2026-03-05T12:30:00Z", "07:30", "2026-03-06T12:30:00Z"}, // exactly now: the next one
		{"2026-03-07T13:00:00Z", "07:30", "2026-03-08T11:30:00Z"}, // across the spring DST change
	} {
		got, err := NextDaily(at(c.after), c.hhmm, toronto)
		if err != nil || !got.Equal(at(c.want)) {
			t.Errorf("NextDaily(%s, %s) = %v, %v; want %s", c.after, c.hhmm, got, err, c.want)
		}
	}
	for _, bad := range []string{"7:30pm", "24:00", "", "07:60"} {
		if _, err := NextDaily(time.Now(), bad, toronto); err == nil {
			t.Errorf("NextDaily accepted %q", bad)
		}
	}
}
