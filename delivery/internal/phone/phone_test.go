package phone

import "testing"

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"+1 (555) 123-4567": "15551234567", "15551234567": "15551234567", "44 20 7946 0958": "442079460958"} {
		if got, err := Canonical(in); err != nil || got != want {
			t.Errorf("Canonical(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "abc", "12-34", "+1 2345"} {
		if _, err := Canonical(in); err == nil {
			t.Errorf("Canonical(%q) accepted", in)
		}
	}
}

func TestMaskKeepsNoMoreThanTheEnds(t *testing.T) {
	if got := Mask("15551234567"); got != "1555•••4567" {
		t.Fatalf("Mask = %q", got)
	}
	if got := Mask("1234567"); got != "•••67" {
		t.Fatalf("short Mask = %q", got)
	}
}
