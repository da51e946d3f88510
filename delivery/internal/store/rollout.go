package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LoadRollout reads the rollout's stored state (package rollout's JSON); nil if none yet.
func (s *Store) LoadRollout(ctx context.Context) ([]byte, error) {
	var state []byte
	err := s.Pool.QueryRow(ctx, `SELECT state FROM rollout`).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading rollout: %w", err)
	}
	return state, nil
}

// RolloutEvent is an entry of the rollout's log.
type RolloutEvent struct {
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	Kind    string         `json:"kind"`
	Percent int            `json:"percent"`
	Detail  map[string]any `json:"detail"`
}

// SaveRollout stores the rollout's state and, when e is not nil, logs the event that
// changed it, in one transaction.
func (s *Store) SaveRollout(ctx context.Context, state []byte, e *RolloutEvent) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rollout (state) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`, state); err != nil {
			return fmt.Errorf("saving rollout: %w", err)
		}
		if e == nil {
			return nil
		}
		detail := e.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rollout_events (at, kind, percent, detail) VALUES ($1, $2, $3, $4)`,
			e.At, e.Kind, e.Percent, detail); err != nil {
			return fmt.Errorf("logging rollout event: %w", err)
		}
		return nil
	})
}

// RolloutEvents returns the latest limit events, newest first.
func (s *Store) RolloutEvents(ctx context.Context, limit int) ([]RolloutEvent, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, at, kind, percent, detail FROM rollout_events ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing rollout events: %w", err)
	}
	defer rows.Close()
	out := []RolloutEvent{}
	for rows.Next() {
		var e RolloutEvent
		if err := rows.Scan(&e.ID, &e.At, &e.Kind, &e.Percent, &e.Detail); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
