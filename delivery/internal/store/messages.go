package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/whatsapp"
)

// Message is one entry of the message log.
type Message struct {
	ID            int64     `json:"id"`
	Wamid         *string   `json:"wamid"`
	Direction     string    `json:"direction"`
	Phone         string    `json:"phone_number"`
	ParticipantID *string   `json:"participant_id"`
	Type          string    `json:"type"`
	Body          string    `json:"body"`
	Status        string    `json:"status"`
	ErrorCode     *int      `json:"error_code,omitempty"`
	ErrorTitle    *string   `json:"error_title,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// statusRank orders outbound statuses so a late "delivered" never overwrites "read".
const statusRank = `CASE %s WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2
	WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE -1 END`

// RecordStatus keeps a status webhook and moves the message forward if it is known yet;
// otherwise MarkOutboxSent applies it when the wamid arrives.
func (s *Store) RecordStatus(ctx context.Context, wamid, status string, at time.Time, errCode *int, errTitle *string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO status_events (wamid, status, occurred_at, error_code, error_title)
			VALUES ($1, $2, $3, $4, $5)`, wamid, status, at, errCode, errTitle); err != nil {
			return fmt.Errorf("recording status: %w", err)
		}
		return s.applyStatuses(ctx, tx, wamid)
	})
}

// applyStatuses sets an outbound message's status to the most advanced one received, and
// answers a 131047 failure with the re-engagement template.
func (s *Store) applyStatuses(ctx context.Context, tx pgx.Tx, wamid string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE messages m SET status = e.status,
			error_code = COALESCE(e.error_code, m.error_code),
			error_title = COALESCE(e.error_title, m.error_title), updated_at = now()
		FROM (SELECT status, error_code, error_title FROM status_events WHERE wamid = $1
		      ORDER BY %s DESC, id LIMIT 1) e
		WHERE m.wamid = $1 AND m.direction = 'outbound' AND %s > %s`,
		fmt.Sprintf(statusRank, "status"), fmt.Sprintf(statusRank, "e.status"), fmt.Sprintf(statusRank, "m.status")), wamid)
	if err != nil {
		return fmt.Errorf("applying statuses: %w", err)
	}
	return s.reengage(ctx, tx, "wamid = $1", wamid)
}

// reengage queues a template for the message `where` selects, if WhatsApp refused it
// because the 24-hour window was closed, once per refused message: the message's own
// fallback template when it has one, else the configured re-engagement template.
func (s *Store) reengage(ctx context.Context, tx pgx.Tx, where string, arg any) error {
	var refusedID int64
	var phone string
	var own *whatsapp.Template
	err := tx.QueryRow(ctx, `SELECT id, phone, fallback_template FROM messages
		WHERE `+where+` AND direction = 'outbound' AND status = 'failed' AND error_code = $2 AND type <> 'template'`,
		arg, whatsapp.ErrCodeReengagement).Scan(&refusedID, &phone, &own)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding the refused message: %w", err)
	}
	template := s.Reengagement
	if own != nil && own.Name != "" {
		template = *own
		if template.Language == "" {
			template.Language = s.Reengagement.Language
		}
	}
	if template.Name == "" {
		return nil
	}
	var msgID int64
	err = tx.QueryRow(ctx, `INSERT INTO messages (direction, phone, participant_id, type, body, status, fallback_for)
		SELECT 'outbound', phone, participant_id, 'template', $2, 'queued', id FROM messages WHERE id = $1
		ON CONFLICT (fallback_for) DO NOTHING RETURNING id`,
		refusedID, "[template "+template.Name+"]").Scan(&msgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // already queued for an earlier copy of the failure
	}
	if err != nil {
		return fmt.Errorf("queueing re-engagement template: %w", err)
	}
	return queueSend(ctx, tx, msgID, phone, whatsapp.TemplateMessage(phone, template))
}

// ListMessages returns a participant's message log, oldest first.
func (s *Store) ListMessages(ctx context.Context, participantID string) ([]Message, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, wamid, direction, phone, participant_id, type, body, status,
		error_code, error_title, created_at, updated_at FROM messages WHERE participant_id = $1 ORDER BY id`, participantID)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.Wamid, &m.Direction, &m.Phone, &m.ParticipantID, &m.Type, &m.Body,
			&m.Status, &m.ErrorCode, &m.ErrorTitle, &m.CreatedAt, &m.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
