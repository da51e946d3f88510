package shadow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/pmezard/go-difflib/difflib"

	"promptpipe/delivery/internal/agent"
)

// The kinds of difference, in the order the report lists them.
const (
	KindError     = "error"      // the candidate failed where the primary answered
	KindState     = "state"      // a different sub-state after the turn
	KindToolCalls = "tool_calls" // other tools, or the same tools with other arguments
	KindButtons   = "buttons"    // other reply buttons
	KindTemplate  = "template"   // another fallback template
	KindText      = "text"       // reply text less similar than TextAgreement
	KindLatency   = "latency"    // much slower: reported, never counted against agreement
)

// TextAgreement is the similarity from which two replies count as saying the same: a
// changed word or two in a sentence keeps it above, another way of saying it does not.
const TextAgreement = 0.8

// noiseMargin is how much less similar than the primary's own second answer the
// candidate's may be before the difference counts as the candidate's.
const noiseMargin = 0.1

// Side is one agent's answer to a turn, as compared.
type Side struct {
	Response  string     `json:"response"`
	Buttons   []string   `json:"buttons,omitempty"`
	Template  string     `json:"template,omitempty"`
	State     string     `json:"state"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	LatencyMS float64    `json:"latency_ms"`
	Error     string     `json:"error,omitempty"`
}

// ToolCall is a tool the agent called in the turn, with its arguments.
type ToolCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Difference is one way the candidate's answer differs from the primary's.
type Difference struct {
	Kind      string `json:"kind"`
	Primary   string `json:"primary"`
	Candidate string `json:"candidate"`
	// Noise: the primary differed the same way from itself (the secondary), so this
	// difference says nothing about the candidate.
	Noise bool `json:"noise,omitempty"`
}

// Outcomes of a comparison.
const (
	Agree  = "agree"  // no difference beyond the primary's own noise (latency aside)
	Differ = "differ" // at least one
	Failed = "error"  // the candidate failed
)

// Result is a comparison's verdict.
type Result struct {
	Similarity      float64      `json:"similarity"`
	NoiseSimilarity *float64     `json:"noise_similarity,omitempty"` // primary vs secondary
	Differences     []Difference `json:"differences"`
	Outcome         string       `json:"outcome"`
}

// SideOf reads an agent's answer, with the tool calls from its comparison metadata.
func SideOf(resp *agent.ProcessMessageResponse, took time.Duration, err error) Side {
	s := Side{LatencyMS: float64(took.Microseconds()) / 1000}
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.Response, s.State = resp.Response, resp.State
	for _, b := range resp.Buttons {
		s.Buttons = append(s.Buttons, b.Title)
	}
	if resp.Template != nil {
		s.Template = resp.Template.Name
	}
	return s
}

// Compare is Diffy's comparison for one turn: every way the candidate differs from the
// primary, each marked as noise where the secondary (the primary asked again, if it was)
// differs from the primary the same way.
func Compare(primary, candidate Side, secondary *Side) Result {
	if candidate.Error != "" {
		return Result{Outcome: Failed, Differences: []Difference{{Kind: KindError, Primary: "answered", Candidate: candidate.Error}}}
	}
	r := Result{Similarity: Similarity(primary.Response, candidate.Response)}
	var noise map[string]bool
	if secondary != nil && secondary.Error == "" {
		s := Similarity(primary.Response, secondary.Response)
		r.NoiseSimilarity = &s
		noise = map[string]bool{}
		for _, d := range differences(primary, *secondary, s, nil) {
			noise[d.Kind] = true
		}
	}
	r.Differences = differences(primary, candidate, r.Similarity, r.NoiseSimilarity)
	r.Outcome = Agree
	for i, d := range r.Differences {
		if noise[d.Kind] && d.Kind != KindText { // text noise is judged by similarity, above
			r.Differences[i].Noise = true
		}
		if !r.Differences[i].Noise && d.Kind != KindLatency {
			r.Outcome = Differ
		}
	}
	return r
}

func differences(p, c Side, similarity float64, noiseSimilarity *float64) []Difference {
	var out []Difference
	if p.State != c.State {
		out = append(out, Difference{Kind: KindState, Primary: p.State, Candidate: c.State})
	}
	if pc, cc := describeCalls(p.ToolCalls), describeCalls(c.ToolCalls); pc != cc {
		out = append(out, Difference{Kind: KindToolCalls, Primary: pc, Candidate: cc})
	}
	if !slices.Equal(p.Buttons, c.Buttons) {
		out = append(out, Difference{Kind: KindButtons, Primary: strings.Join(p.Buttons, " | "), Candidate: strings.Join(c.Buttons, " | ")})
	}
	if p.Template != c.Template {
		out = append(out, Difference{Kind: KindTemplate, Primary: p.Template, Candidate: c.Template})
	}
	if similarity < TextAgreement {
		d := Difference{Kind: KindText, Primary: p.Response, Candidate: c.Response}
		// The primary saying it as differently itself makes the candidate's wording noise.
		d.Noise = noiseSimilarity != nil && similarity >= *noiseSimilarity-noiseMargin
		out = append(out, d)
	}
	if c.LatencyMS > 2*p.LatencyMS+250 {
		out = append(out, Difference{Kind: KindLatency, Primary: fmt.Sprintf("%.0f ms", p.LatencyMS), Candidate: fmt.Sprintf("%.0f ms", c.LatencyMS)})
	}
	return out
}

// describeCalls writes tool calls as `name(args)`, arguments with their keys sorted, so
// equal calls read equal.
func describeCalls(calls []ToolCall) string {
	parts := make([]string, 0, len(calls))
	for _, c := range calls {
		args := ""
		if len(c.Args) > 0 {
			var v any
			if json.Unmarshal(c.Args, &v) == nil {
				b, _ := json.Marshal(v) // maps marshal with sorted keys
				args = string(b)
			}
		}
		parts = append(parts, c.Name+"("+args+")")
	}
	return strings.Join(parts, " ")
}

// Normalize is a reply as compared: lower case, words only (no punctuation, emoji or
// extra spaces), so that "Great!  See you 🙂" and "great see you" are the same reply.
func Normalize(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// Similarity of two replies, 0 to 1: difflib's ratio (twice the matched words over all
// words) on their normalized words. Two empty replies are the same.
func Similarity(a, b string) float64 {
	wa, wb := Normalize(a), Normalize(b)
	if len(wa) == 0 && len(wb) == 0 {
		return 1
	}
	return difflib.NewMatcher(wa, wb).Ratio()
}
