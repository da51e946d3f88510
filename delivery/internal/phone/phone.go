// Package phone canonicalizes and masks phone numbers.
package phone

import (
	"errors"
	"strings"
)

// ErrInvalid reports a phone number with fewer than six digits.
var ErrInvalid = errors.New("phone number must have at least 6 digits")

// Canonical strips everything but digits ("+1 (555) 123-4567" → "15551234567"), the one
// format stored everywhere. PromptPipe's rule: at least six digits.
func Canonical(raw string) (string, error) {
	var b strings.Builder
	for _, r := range raw {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() < 6 {
		return "", ErrInvalid
	}
	return b.String(), nil
}

// Mask hides the middle of a number for logs: "15551234567" → "1555•••4567".
func Mask(p string) string {
	if len(p) <= 8 {
		return "•••" + p[max(0, len(p)-2):]
	}
	return p[:4] + "•••" + p[len(p)-4:]
}
