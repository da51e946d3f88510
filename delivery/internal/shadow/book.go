package shadow

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Comparison is one shadowed turn: what each side said and how they differ.
type Comparison struct {
	ID            int64     `json:"id"`
	At            time.Time `json:"at"` // delivery's (virtual) time
	ParticipantID string    `json:"participant_id"`
	Turn          string    `json:"turn"` // "message" or "event:<kind>"
	Input         string    `json:"input"`
	SubState      string    `json:"sub_state"` // the conversation's before the turn
	Primary       Side      `json:"primary"`
	Candidate     Side      `json:"candidate"`
	Secondary     *Side     `json:"secondary,omitempty"`
	Result
}

// Agreement is how often the candidate agreed with the primary.
type Agreement struct {
	Compared int     `json:"compared"`
	Agreed   int     `json:"agreed"`
	Rate     float64 `json:"rate"` // 0 when nothing was compared
}

func (a *Agreement) add(agreed bool) {
	a.Compared++
	if agreed {
		a.Agreed++
	}
	a.Rate = float64(a.Agreed) / float64(a.Compared)
}

// DifferenceKind is a kind of difference, how often it was found beyond noise, and the
// latest examples.
type DifferenceKind struct {
	Kind     string       `json:"kind"`
	Count    int          `json:"count"`
	Examples []Comparison `json:"examples"`
}

// examplesPerKind is how many comparisons each kind keeps to show.
const examplesPerKind = 3

// Book keeps the comparisons: the latest in a ring, with running totals since start.
// Like arms.Stats it lives in memory; docs/migration.md says why that is enough.
type Book struct {
	mu       sync.Mutex
	ring     []Comparison
	next     int
	full     bool
	lastID   int64
	total    Agreement
	byState  map[string]*Agreement
	kinds    map[string]*DifferenceKind
	outcomes map[string]int
}

// NewBook keeps the latest size comparisons.
func NewBook(size int) *Book {
	return &Book{ring: make([]Comparison, size), byState: map[string]*Agreement{},
		kinds: map[string]*DifferenceKind{}, outcomes: map[string]int{}}
}

// Add records a comparison and returns it with its id.
func (b *Book) Add(c Comparison) Comparison {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastID++
	c.ID = b.lastID
	b.ring[b.next] = c
	b.next = (b.next + 1) % len(b.ring)
	if b.next == 0 {
		b.full = true
	}
	b.outcomes[c.Outcome]++
	agreed := c.Outcome == Agree
	b.total.add(agreed)
	state := cmp.Or(c.SubState, "unknown")
	if b.byState[state] == nil {
		b.byState[state] = &Agreement{}
	}
	b.byState[state].add(agreed)
	for _, d := range c.Differences {
		if d.Noise {
			continue
		}
		k := b.kinds[d.Kind]
		if k == nil {
			k = &DifferenceKind{Kind: d.Kind}
			b.kinds[d.Kind] = k
		}
		k.Count++
		k.Examples = append([]Comparison{c}, k.Examples...)
		if len(k.Examples) > examplesPerKind {
			k.Examples = k.Examples[:examplesPerKind]
		}
	}
	return c
}

// Since is the agreement of the comparisons kept that were made at or after t (the
// rollout judges a step by it).
func (b *Book) Since(t time.Time) Agreement {
	b.mu.Lock()
	defer b.mu.Unlock()
	var a Agreement
	for _, c := range b.kept() {
		if !c.At.Before(t) && c.Outcome != "" {
			a.add(c.Outcome == Agree)
		}
	}
	return a
}

// Report is the comparisons in short: totals, per sub-state agreement, the most frequent
// kinds of difference with examples, and the latest comparisons, newest first.
type Report struct {
	Agreement   Agreement            `json:"agreement"`
	ByState     map[string]Agreement `json:"by_state"`
	Outcomes    map[string]int       `json:"outcomes"`
	Differences []DifferenceKind     `json:"differences"`
	Latest      []Comparison         `json:"latest"`
}

// Report summarizes the book; latest bounds the comparisons listed.
func (b *Book) Report(latest int) Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := Report{Agreement: b.total, ByState: map[string]Agreement{}, Outcomes: map[string]int{}, Differences: []DifferenceKind{}}
	for s, a := range b.byState {
		r.ByState[s] = *a
	}
	for o, n := range b.outcomes {
		r.Outcomes[o] = n
	}
	for _, k := range b.kinds {
		r.Differences = append(r.Differences, DifferenceKind{Kind: k.Kind, Count: k.Count, Examples: slices.Clone(k.Examples)})
	}
	slices.SortFunc(r.Differences, func(x, y DifferenceKind) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Kind, y.Kind))
	})
	kept := b.kept()
	slices.SortFunc(kept, func(x, y Comparison) int { return cmp.Compare(y.ID, x.ID) })
	r.Latest = kept[:min(latest, len(kept))]
	return r
}

// kept is a copy of the comparisons in the ring, in no particular order.
func (b *Book) kept() []Comparison {
	n := b.next
	if b.full {
		n = len(b.ring)
	}
	return slices.Clone(b.ring[:n])
}
