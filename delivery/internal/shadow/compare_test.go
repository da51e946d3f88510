package shadow

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestNormalizeAndSimilarity(t *testing.T) {
	if got := Normalize("Great!  See you tomorrow 🙂 — Ada's coach"); !slices.Equal(got, []string{"great", "see", "you", "tomorrow", "ada's", "coach"}) {
		t.Fatalf("normalize = %q", got)
	}
	if s := Similarity("Great! See you.", "great see you"); s != 1 {
		t.Fatalf("same words, similarity %v", s)
	}
	if s := Similarity("", ""); s != 1 {
		t.Fatalf("two silences, similarity %v", s)
	}
	if s := Similarity("What time should I nudge you each day?", "What time should I nudge you?"); s < TextAgreement || s >= 1 {
		t.Fatalf("a trimmed question, similarity %v", s)
	}
	if s := Similarity("Hi! I'm your habit coach. Would you like to try a tiny habit now?", "Try it now, or personalize first?"); s >= TextAgreement {
		t.Fatalf("another way of saying it, similarity %v", s)
	}
}

func side(text, state string, calls ...ToolCall) Side {
	return Side{Response: text, State: state, ToolCalls: calls, LatencyMS: 100}
}

func kinds(r Result, noise bool) []string {
	var out []string
	for _, d := range r.Differences {
		if d.Noise == noise {
			out = append(out, d.Kind)
		}
	}
	return out
}

func TestCompareFindsEachKindOfDifference(t *testing.T) {
	save := ToolCall{Name: "save_user_profile", Args: json.RawMessage(`{"habit_domain":"sleep","name":"Ada"}`)}
	sameArgsOtherOrder := ToolCall{Name: "save_user_profile", Args: json.RawMessage(`{"name": "Ada", "habit_domain": "sleep"}`)}
	other := ToolCall{Name: "save_user_profile", Args: json.RawMessage(`{"habit_domain":"eating"}`)}

	same := Compare(side("Got it. What time?", "INTAKE", save), side("Got it! What time?", "INTAKE", sameArgsOtherOrder), nil)
	if same.Outcome != Agree || len(same.Differences) != 0 || same.Similarity != 1 {
		t.Fatalf("same answer: %+v", same)
	}

	p := side("Got it. What time?", "INTAKE", save)
	p.Buttons, p.Template = []string{"Done", "Next time"}, "daily_prompt_reminder"
	c := side("Anything else you want to tell me about your week and your plans?", "FEEDBACK", other)
	c.LatencyMS = 900
	r := Compare(p, c, nil)
	if want := []string{KindState, KindToolCalls, KindButtons, KindTemplate, KindText, KindLatency}; !slices.Equal(kinds(r, false), want) {
		t.Fatalf("kinds = %v, want %v", kinds(r, false), want)
	}
	if r.Outcome != Differ {
		t.Fatalf("outcome = %s", r.Outcome)
	}

	slow := side("Got it. What time?", "INTAKE")
	slow.LatencyMS = 2000
	if r := Compare(side("Got it. What time?", "INTAKE"), slow, nil); r.Outcome != Agree || !slices.Equal(kinds(r, false), []string{KindLatency}) {
		t.Fatalf("slower alone is not disagreement: %+v", r)
	}

	failed := Compare(p, Side{Error: "agent returned error (status 500)"}, nil)
	if failed.Outcome != Failed || failed.Differences[0].Kind != KindError {
		t.Fatalf("failed candidate: %+v", failed)
	}
}

func TestTheSecondaryFiltersThePrimarysOwnNoise(t *testing.T) {
	primary := side("Lovely! Shall we try a one-minute stretch right now?", "INTAKE")
	candidate := side("Want to do a quick stretch together at this moment?", "INTAKE")
	// A model that words it differently each time: the secondary differs as much.
	noisy := side("Nice one. How about a short stretch at once?", "INTAKE")
	r := Compare(primary, candidate, &noisy)
	if r.NoiseSimilarity == nil || r.Outcome != Agree || !slices.Equal(kinds(r, true), []string{KindText}) {
		t.Fatalf("noise not filtered: %+v (noise similarity %v)", r, r.NoiseSimilarity)
	}
	// A deterministic primary: the same words twice, so the candidate's wording is its own.
	steady := primary
	r = Compare(primary, candidate, &steady)
	if r.Outcome != Differ || !slices.Equal(kinds(r, false), []string{KindText}) {
		t.Fatalf("difference lost: %+v", r)
	}
	// Noise in one kind does not excuse another.
	otherState := noisy
	otherState.State = "FEEDBACK"
	candidate.State = "FEEDBACK"
	r = Compare(primary, candidate, &otherState)
	if r.Outcome != Agree {
		t.Fatalf("state noise: %+v", r)
	}
	candidate.Buttons = []string{"Done"}
	if r = Compare(primary, candidate, &otherState); r.Outcome != Differ || !slices.Equal(kinds(r, false), []string{KindButtons}) {
		t.Fatalf("buttons beyond noise: %+v", r)
	}
}
