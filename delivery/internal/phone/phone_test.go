package phone

import "testing"

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"+1 (555) 123-4567": "15551234567", "15551234567": "15551234567", "44 20 7946 0958": "442079460958",
		"+44.20.7946.0958": "442079460958", " 15551234567 ": "15551234567", "123456789012345": "123456789012345",
	} {
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

// E.164 has at most 15 digits and no extensions; letters are never folded away.
func TestCanonicalRefusesWhatIsNotE164(t *testing.T) {
	for _, in := range []string{
		"1234567890123456",                         // 16 digits
		"1234567890123456789012345678901234567890", // 40 digits
		"+1 555 123 4567 ext 9",                    // an extension folded into the number
		"+1 555 123 4567 x9",
		"15551234567#9",
		"tel:+15551234567",
		"+1 555 CALL NOW",
		"0155512345", // no country code starts with 0
		"++15551234567",
		"1555\x00123456",
		"１５５５１２３４５６７", // full-width digits
	} {
		if got, err := Canonical(in); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", in, got)
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
