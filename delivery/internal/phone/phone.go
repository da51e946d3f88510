// Package phone canonicalizes and masks phone numbers.
package phone

import (
	"errors"
	"strings"
)

// ErrInvalid reports a string that is not an E.164 phone number.
var ErrInvalid = errors.New("phone number must be E.164: 6 to 15 digits, optionally after a +")

// Canonical returns the number's E.164 digits ("+1 (555) 123-4567" → "15551234567"), the
// one format stored everywhere. The number is written as people write it: an optional
// leading "+", then digits with spaces, dots, dashes or brackets between them. Anything
// else (letters, "ext 9", a second "+") is refused, not folded into the digits, and so is
// a count of digits E.164 does not allow: PromptPipe's at least six, E.164's at most 15,
// and no leading zero (no country code starts with one).
func Canonical(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "+")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", ErrInvalid
		}
		if b.Len() > 15 {
			return "", ErrInvalid
		}
	}
	digits := b.String()
	if len(digits) < 6 || digits[0] == '0' {
		return "", ErrInvalid
	}
	return digits, nil
}

// Mask hides the middle of a number for logs: "15551234567" → "1555•••4567".
func Mask(p string) string {
	if len(p) <= 8 {
		return "•••" + p[max(0, len(p)-2):]
	}
	return p[:4] + "•••" + p[len(p)-4:]
}
