package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// WorldFormat is the version of delivery's part of a saved world (the dev stack's
// snapshots). It changes when the document's shape changes; the schema version it
// carries changes with every migration.
const WorldFormat = 1

// worldTables are the tables a world holds, parents before children, each with the
// column that orders its rows. The clock is not among them: a world keeps the virtual
// time itself (World.Now), not an offset from a real time long gone.
var worldTables = []struct{ name, order string }{
	{"participants", "id"},
	{"messages", "id"},
	{"outbox", "id"},
	{"status_events", "id"},
	{"responses", "id"},
	{"jobs", "id"},
	{"tasks", "id"},
}

// serialTables have a bigserial id whose sequence must continue after the loaded rows.
var serialTables = []string{"messages", "status_events", "responses", "tasks"}

// World is delivery's whole state at one moment: every row of its tables, as JSON
// objects named by column, and the virtual time.
type World struct {
	Service       string                     `json:"service"`
	Format        int                        `json:"format"`
	SchemaVersion int                        `json:"schema_version"`
	Now           time.Time                  `json:"now"`
	Tables        map[string]json.RawMessage `json:"tables"`
}

// ErrWorldMismatch says a world cannot be loaded into this delivery: another format or
// schema version, or rows that do not fit. Its text is fit to show.
type ErrWorldMismatch struct{ Reason string }

func (e *ErrWorldMismatch) Error() string { return e.Reason }

// ExportWorld reads every table in one repeatable-read snapshot, so the rows agree with
// each other. Leases are left out: a task under lease is saved ready, to be worked again
// by whoever loads the world (its idempotency key makes the repeat harmless).
func (s *Store) ExportWorld(ctx context.Context, now time.Time) (*World, error) {
	w := &World{Service: "delivery", Format: WorldFormat, Now: now.UTC(), Tables: map[string]json.RawMessage{}}
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			version, err := migratedVersion(ctx, tx)
			if err != nil {
				return err
			}
			w.SchemaVersion = version
			for _, t := range worldTables {
				row := `to_jsonb(t)`
				if t.name == "tasks" {
					row = `to_jsonb(t) || CASE WHEN t.state = 'leased'
						THEN '{"state": "ready", "lease_owner": null, "lease_until": null}'::jsonb ELSE '{}'::jsonb END`
				}
				var rows []byte
				if err := tx.QueryRow(ctx, `SELECT COALESCE(jsonb_agg(`+row+` ORDER BY t.`+t.order+`), '[]')::text FROM `+
					t.name+` t`).Scan(&rows); err != nil {
					return fmt.Errorf("exporting %s: %w", t.name, err)
				}
				w.Tables[t.name] = rows
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// ImportWorld replaces every table with the world's rows and sets the stored clock
// offset so that delivery's now is the world's now, in one transaction: a world that
// does not fit changes nothing (ErrWorldMismatch). With dryRun it checks the world by
// loading it, then rolls back. The caller reloads the clock afterwards.
func (s *Store) ImportWorld(ctx context.Context, w *World, dryRun bool) error {
	if w.Service != "delivery" {
		return &ErrWorldMismatch{fmt.Sprintf("this is a world part of %q, not of delivery", w.Service)}
	}
	if w.Format != WorldFormat {
		return &ErrWorldMismatch{fmt.Sprintf("delivery's part of this world has format %d; this delivery reads format %d",
			w.Format, WorldFormat)}
	}
	if w.Now.IsZero() {
		return &ErrWorldMismatch{"delivery's part of this world has no time (now)"}
	}
	for name := range w.Tables {
		if !isWorldTable(name) {
			return &ErrWorldMismatch{fmt.Sprintf("delivery has no table %q", name)}
		}
	}
	errDryRun := errors.New("dry run")
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		version, err := migratedVersion(ctx, tx)
		if err != nil {
			return err
		}
		if w.SchemaVersion != version {
			return &ErrWorldMismatch{fmt.Sprintf("this world was saved by delivery at schema version %d; "+
				"this delivery is at version %d: generate or save the world again", w.SchemaVersion, version)}
		}
		names := ""
		for i, t := range worldTables {
			if i > 0 {
				names += ", "
			}
			names += t.name
		}
		if _, err := tx.Exec(ctx, `TRUNCATE `+names); err != nil {
			return fmt.Errorf("emptying tables: %w", err)
		}
		for _, t := range worldTables {
			rows := w.Tables[t.name]
			if len(rows) == 0 {
				rows = json.RawMessage("[]")
			}
			// Savepoint per table, so that a row that does not fit is reported by table.
			sub, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := sub.Exec(ctx, `INSERT INTO `+t.name+` SELECT * FROM jsonb_populate_recordset(NULL::`+
				t.name+`, $1::jsonb)`, string(rows)); err != nil {
				_ = sub.Rollback(ctx)
				return &ErrWorldMismatch{fmt.Sprintf("delivery's table %s in this world does not load: %v", t.name,
					pgMessage(err))}
			}
			if err := sub.Commit(ctx); err != nil {
				return err
			}
		}
		for _, name := range serialTables {
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'),
				COALESCE((SELECT max(id) FROM `+name+`), 0) + 1, false)`, name); err != nil {
				return fmt.Errorf("moving the %s sequence: %w", name, err)
			}
		}
		// Whoever saved the world held no lease this process can honour.
		if _, err := tx.Exec(ctx, `UPDATE tasks SET state = 'ready', lease_owner = NULL, lease_until = NULL
			WHERE state = 'leased'`); err != nil {
			return fmt.Errorf("clearing leases: %w", err)
		}
		offset := time.Until(w.Now)
		if _, err := tx.Exec(ctx, `UPDATE clock SET offset_ms = $1`, offset.Milliseconds()); err != nil {
			return fmt.Errorf("setting the clock: %w", err)
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

func isWorldTable(name string) bool {
	for _, t := range worldTables {
		if t.name == name {
			return true
		}
	}
	return false
}

// migratedVersion is how far delivery's migrations have run (tern's version table).
func migratedVersion(ctx context.Context, tx pgx.Tx) (int, error) {
	var v int
	if err := tx.QueryRow(ctx, `SELECT version FROM `+versionTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

// pgMessage is the database's own sentence about a bad row, without the SQL around it.
func pgMessage(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Message
	}
	return "invalid rows"
}
