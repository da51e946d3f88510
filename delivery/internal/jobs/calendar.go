package jobs

import (
	"errors"
	"fmt"
	"time"
)

// Calendar is PromptPipe's Schedule: fields left out match every value, except that a
// missing hour or minute means 0 (as PromptPipe did: {} is daily at 00:00).
type Calendar struct {
	Minute   *int   `json:"minute,omitempty"`
	Hour     *int   `json:"hour,omitempty"`
	Day      *int   `json:"day,omitempty"`
	Month    *int   `json:"month,omitempty"`
	Weekday  *int   `json:"weekday,omitempty"` // 0 = Sunday
	Timezone string `json:"timezone,omitempty"`
}

// Validate reports the first out-of-range value, with a sentence a caller can show.
func (c Calendar) Validate() error {
	for _, f := range []struct {
		name     string
		value    *int
		min, max int
	}{{"minute", c.Minute, 0, 59}, {"hour", c.Hour, 0, 23}, {"day", c.Day, 1, 31}, {"month", c.Month, 1, 12}, {"weekday", c.Weekday, 0, 6}} {
		if f.value != nil && (*f.value < f.min || *f.value > f.max) {
			return fmt.Errorf("schedule %s must be between %d and %d", f.name, f.min, f.max)
		}
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		return errors.New("invalid timezone")
	}
	return nil
}

// Next is the first matching moment strictly after `after`: today's when still ahead
// (PromptPipe always skipped today), searching a little over a year.
func (c Calendar) Next(after time.Time) (time.Time, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.Time{}, err
	}
	hour, minute := value(c.Hour), value(c.Minute)
	local := after.In(loc)
	for d := 0; d <= 400; d++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+d, hour, minute, 0, 0, loc)
		if day.After(after) && matches(c.Day, day.Day()) && matches(c.Month, int(day.Month())) && matches(c.Weekday, int(day.Weekday())) {
			return day.UTC(), nil
		}
	}
	return time.Time{}, errors.New("the schedule never matches (for example February 30)")
}

func value(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func matches(want *int, got int) bool { return want == nil || *want == got }
