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

func TestCalendarNext(t *testing.T) {
	ptr := func(v int) *int { return &v }
	after := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday
	for _, c := range []struct {
		cal  Calendar
		want time.Time
	}{
		{Calendar{Timezone: "UTC"}, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},                                        // {} is daily at 00:00
		{Calendar{Hour: ptr(18), Timezone: "UTC"}, time.Date(2026, 3, 4, 18, 0, 0, 0, time.UTC)},                        // same day, still ahead
		{Calendar{Hour: ptr(18), Weekday: ptr(1), Timezone: "UTC"}, time.Date(2026, 3, 9, 18, 0, 0, 0, time.UTC)},       // next Monday
		{Calendar{Day: ptr(1), Month: ptr(1), Timezone: "UTC"}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},            // new year
		{Calendar{Hour: ptr(9), Minute: ptr(30), Timezone: "Asia/Tokyo"}, time.Date(2026, 3, 5, 0, 30, 0, 0, time.UTC)}, // 09:30 in Tokyo
	} {
		got, err := c.cal.Next(after)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%+v: got %v, %v; want %v", c.cal, got, err, c.want)
		}
	}
}
