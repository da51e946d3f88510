// Package devevents is the dev stack's feed of delivery's own work (webhooks taken in,
// agent calls with their latency and retries, replies queued, outbox sends, statuses),
// kept in memory for the simulator's event log. It records what was attempted as it
// happened: a transaction rolled back later (a crash, say) may leave an event for work
// that is then done again. A nil *Feed records nothing, which is how production runs.
package devevents

import (
	"sync"
	"time"
)

// Event is one thing delivery did. IDs increase by one from 1 in a process's life.
type Event struct {
	ID   int64          `json:"id"`
	Time time.Time      `json:"time"`
	Kind string         `json:"kind"`
	Data map[string]any `json:"data"`
}

// Feed keeps the latest events in a ring of fixed size.
type Feed struct {
	mu     sync.Mutex
	events []Event
	size   int
	nextID int64
	now    func() time.Time
}

// NewFeed keeps the last `size` events, stamped by now (the virtual clock).
func NewFeed(size int, now func() time.Time) *Feed {
	return &Feed{size: size, nextID: 1, now: now}
}

// Record adds an event; safe for concurrent use, and a no-op on a nil Feed.
func (f *Feed) Record(kind string, data map[string]any) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, Event{ID: f.nextID, Time: f.now().UTC(), Kind: kind, Data: data})
	f.nextID++
	if len(f.events) > f.size {
		f.events = f.events[len(f.events)-f.size:]
	}
}

// After returns up to limit events with an ID above after, oldest first.
func (f *Feed) After(after int64, limit int) []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []Event{}
	for _, e := range f.events {
		if e.ID > after {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}
