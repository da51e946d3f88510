// Package store keeps delivery's state in Postgres, in the schema "delivery".
package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is where every table of delivery lives; no other service reads it.
const Schema = "delivery"

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique value is already taken.
var ErrConflict = errors.New("already exists")

// newID returns prefix and 32 random hex digits, PromptPipe's id format ("p_…", "job_…").
func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Store wraps the connection pool. It only stores: what to send, and when, is decided by
// the packages that own the work (inbound, outbox, jobs).
type Store struct {
	Pool *pgxpool.Pool
}

// Open connects with search_path set to delivery's schema, and migrates.
func Open(ctx context.Context, databaseURL string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = Schema
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	s := &Store{Pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Migrate brings the database at databaseURL up to date and closes its connections
// (the tests' shared database is made this way: pgtest.NewMigratedDatabase).
func Migrate(ctx context.Context, databaseURL string) error {
	s, err := Open(ctx, databaseURL, 1)
	if err != nil {
		return err
	}
	s.Close()
	return nil
}

// Close releases the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// versionTable is where tern records how far delivery's schema has migrated.
const versionTable = Schema + ".schema_version"

// migrate applies the embedded migrations not yet applied, in order, each in its own
// transaction (tern, the migration library of pgx's author). Two instances starting
// together cannot race: both tern and adoptLegacyVersions run under advisory locks.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection for migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+Schema); err != nil {
		return fmt.Errorf("creating schema: %w", err)
	}
	if err := adoptLegacyVersions(ctx, conn.Conn()); err != nil {
		return err
	}
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(files); err != nil {
		return fmt.Errorf("loading migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	return nil
}

// adoptLegacyVersions carries a database migrated by delivery's former hand-written
// runner (one row per applied file in delivery.schema_migrations) over to tern's version
// table, so that tern does not run those files again. The first six versions are the
// files that runner applied, unchanged.
func adoptLegacyVersions(ctx context.Context, conn *pgx.Conn) error {
	const lockKey = 727_001 // arbitrary, fixed: the key the former runner locked too
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("locking for migrations: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var legacy, current bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL`,
			Schema+".schema_migrations", versionTable).Scan(&legacy, &current); err != nil {
			return fmt.Errorf("reading migration state: %w", err)
		}
		if !legacy || current {
			return nil
		}
		// The former runner applied files in name order, so the count is the version.
		if _, err := tx.Exec(ctx, `CREATE TABLE `+versionTable+` (version int4 NOT NULL);
			INSERT INTO `+versionTable+` SELECT count(*) FROM `+Schema+`.schema_migrations;
			DROP TABLE `+Schema+`.schema_migrations`); err != nil {
			return fmt.Errorf("adopting the former migration record: %w", err)
		}
		return nil
	})
}
