package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Reasons a webhook item is dead-lettered. The first two are what Postgres text cannot
// hold; the webhook handler adds its own (too_long, invalid_sender).
const (
	ReasonNUL        = "nul_character" // U+0000: Postgres text has no room for it
	ReasonBadUTF8    = "invalid_utf8"
	ReasonUnstorable = "unstorable" // Postgres refused the value itself (a data exception)
)

// DeadLetter is a webhook item that can never be stored, kept with why.
type DeadLetter struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`       // "message" or "status"
	Wamid      string    `json:"message_id"` // escaped when it was not storable as is
	Phone      string    `json:"phone_number"`
	Reason     string    `json:"reason"`
	Excerpt    string    `json:"excerpt"` // the start of what was received, escaped
	ReceivedAt time.Time `json:"received_at"`
}

// Unstorable names why one of values cannot be stored as Postgres text (a NUL, bytes
// that are not UTF-8), or returns "" when every one can.
func Unstorable(values ...string) string {
	for _, v := range values {
		switch {
		case strings.IndexByte(v, 0) >= 0:
			return ReasonNUL
		case !utf8.ValidString(v):
			return ReasonBadUTF8
		}
	}
	return ""
}

// IsUnstorable tells whether err is Postgres refusing a value for what it is (class 22,
// data exception: a character not in the encoding, a string too long...): storing it
// again can never succeed, unlike a lost connection.
func IsUnstorable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

// Escape makes any string storable and readable: as it is when it already is, else
// quoted Go-style (a NUL reads \x00, a broken byte \xff), cut to at most max bytes.
func Escape(s string, max int) string {
	if Unstorable(s) != "" {
		s = strconv.Quote(s)
		s = s[1 : len(s)-1]
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// RecordDeadLetter keeps d (its fields escaped here); recorded is false when the same item
// (kind and message id) was kept before, so a webhook delivered twice counts once.
func (s *Store) RecordDeadLetter(ctx context.Context, d DeadLetter) (recorded bool, err error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO dead_letters (kind, wamid, phone, reason, excerpt)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, wamid) DO NOTHING`,
		d.Kind, Escape(d.Wamid, 256), Escape(d.Phone, 64), d.Reason, Escape(d.Excerpt, 512))
	if err != nil {
		return false, fmt.Errorf("recording dead letter: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListDeadLetters returns the newest dead letters first, at most limit.
func (s *Store) ListDeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, kind, wamid, phone, reason, excerpt, received_at
		FROM dead_letters ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DeadLetter])
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	return out, nil
}
