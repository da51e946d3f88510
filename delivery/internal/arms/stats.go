package arms

import (
	"slices"
	"sync"
	"time"
)

// Turn is one turn as an arm served it, for the migration's figures.
type Turn struct {
	At      time.Time // delivery's (virtual) time when it was answered
	Arm     string
	OK      bool
	Latency time.Duration // retries included
	State   string        // the sub-state the agent answered with ("" on error)
}

// Summary is an arm's figures over some turns.
type Summary struct {
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
}

// Stats keeps the latest turns in memory (a ring), enough to judge a rollout step and to
// report per arm; Prometheus keeps the long history. A restart starts it afresh, and a
// rollout step then judges only what it sees after the restart.
type Stats struct {
	mu         sync.Mutex
	turns      []Turn
	next       int
	full       bool
	engagement map[string]*Engagement
}

// NewStats keeps the last size turns.
func NewStats(size int) *Stats { return &Stats{turns: make([]Turn, size)} }

// Add records a turn.
func (s *Stats) Add(t Turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.turns[s.next] = t
	s.next = (s.next + 1) % len(s.turns)
	if s.next == 0 {
		s.full = true
	}
}

// Summary is the figures of arm's turns at or after since (the zero time: all kept).
func (s *Stats) Summary(arm string, since time.Time) Summary {
	s.mu.Lock()
	var latencies []time.Duration
	var sum Summary
	n := s.next
	if s.full {
		n = len(s.turns)
	}
	for _, t := range s.turns[:n] {
		if t.Arm != arm || t.At.Before(since) {
			continue
		}
		sum.Requests++
		if !t.OK {
			sum.Errors++
		}
		latencies = append(latencies, t.Latency)
	}
	s.mu.Unlock()
	if sum.Requests == 0 {
		return sum
	}
	sum.ErrorRate = float64(sum.Errors) / float64(sum.Requests)
	slices.Sort(latencies)
	sum.P50MS = percentile(latencies, 0.50)
	sum.P99MS = percentile(latencies, 0.99)
	return sum
}

// States counts the sub-states the arms answered with, over the turns kept: the state
// distribution of the turns (the agent holds the participants' own).
func (s *Stats) States() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	n := s.next
	if s.full {
		n = len(s.turns)
	}
	for _, t := range s.turns[:n] {
		if t.OK {
			out[t.State]++
		}
	}
	return out
}

// percentile is the nearest-rank percentile of sorted latencies, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	rank := int(p*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return float64(sorted[rank].Microseconds()) / 1000
}

// Engagement is what an arm's participants did: the prompts it sent them and how they
// answered. DoneRatio (Done answers per daily prompt) is the user-satisfaction figure
// docs/monitoring.md defines; Prometheus has the same counts over time.
type Engagement struct {
	DailyPrompts int     `json:"daily_prompts"`
	Messages     int     `json:"messages"`
	Done         int     `json:"done"`
	NextTime     int     `json:"next_time"`
	Stop         int     `json:"stop"`
	DoneRatio    float64 `json:"done_ratio"` // 0 before any prompt
}

// Prompted counts a daily prompt an arm sent.
func (s *Stats) Prompted(arm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.engagementOf(arm)
	e.DailyPrompts++
	e.ratio()
}

// Answered counts a participant's message by what it says (fallback.Answer).
func (s *Stats) Answered(arm, answer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.engagementOf(arm)
	e.Messages++
	switch answer {
	case "done":
		e.Done++
	case "next_time":
		e.NextTime++
	case "stop":
		e.Stop++
	}
	e.ratio()
}

// Engagement is each arm's figures since start.
func (s *Stats) Engagement() map[string]Engagement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Engagement{}
	for arm, e := range s.engagement {
		out[arm] = *e
	}
	return out
}

func (s *Stats) engagementOf(arm string) *Engagement {
	if s.engagement == nil {
		s.engagement = map[string]*Engagement{}
	}
	if s.engagement[arm] == nil {
		s.engagement[arm] = &Engagement{}
	}
	return s.engagement[arm]
}

func (e *Engagement) ratio() {
	if e.DailyPrompts > 0 {
		e.DoneRatio = float64(e.Done) / float64(e.DailyPrompts)
	}
}
