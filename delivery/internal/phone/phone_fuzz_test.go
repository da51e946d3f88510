package phone

import (
	"strings"
	"testing"
)

// FuzzCanonical: whatever the input, Canonical never panics, and what it accepts is an
// E.164 number made of the input's own digits, in order, that canonicalizes to itself.
// scripts/test runs it for a few seconds; testdata/fuzz/FuzzCanonical holds its corpus.
func FuzzCanonical(f *testing.F) {
	for _, seed := range []string{"+1 (555) 123-4567", "44 20 7946 0958", "+1 555 123 4567 ext 9", "0155512345", "", "+"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Canonical(raw)
		if err != nil {
			if got != "" {
				t.Fatalf("Canonical(%q) = %q with error %v", raw, got, err)
			}
			return
		}
		if len(got) < 6 || len(got) > 15 || got[0] == '0' {
			t.Fatalf("Canonical(%q) = %q: not 6 to 15 digits without a leading 0", raw, got)
		}
		var digits strings.Builder
		for _, r := range raw {
			if r >= '0' && r <= '9' {
				digits.WriteRune(r)
			}
		}
		if got != digits.String() {
			t.Fatalf("Canonical(%q) = %q, not the input's digits %q", raw, got, digits.String())
		}
		if again, err := Canonical(got); err != nil || again != got {
			t.Fatalf("Canonical(%q) = %q, %v: not stable", got, again, err)
		}
		if masked := Mask(got); strings.Contains(masked, got) {
			t.Fatalf("Mask(%q) = %q shows the whole number", got, masked)
		}
	})
}
