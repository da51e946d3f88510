package store

import (
	"context"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"promptpipe/delivery/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func migrationCount(t *testing.T) int32 {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return int32(len(names))
}

func schemaVersion(t *testing.T, s *Store) int32 {
	t.Helper()
	var v int32
	if err := s.Pool.QueryRow(context.Background(), "SELECT version FROM "+versionTable).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenMigratesAFreshDatabaseAndAgainIsANoOp(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	for range 2 {
		s, err := Open(ctx, url, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := schemaVersion(t, s), migrationCount(t); got != want {
			t.Fatalf("schema version = %d, want %d", got, want)
		}
		s.Close()
	}
}

// A database migrated by the former hand-written runner keeps its data: tern takes over
// at the version that runner reached and applies only what came after.
func TestOpenAdoptsTheFormerRunnersRecord(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	legacy := names[:6] // what the former runner knew
	if _, err := conn.Exec(ctx, `CREATE SCHEMA delivery; SET search_path TO delivery;
		CREATE TABLE delivery.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, name := range legacy {
		sql, _ := migrations.ReadFile(name)
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if _, err := conn.Exec(ctx, "INSERT INTO delivery.schema_migrations (version) VALUES ($1)", version); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO delivery.participants (id, phone_number, status, enrolled_at, created_at, updated_at)
		VALUES ('p_kept', '15550001234', 'active', now(), now(), now())`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	s, err := Open(ctx, url, 2)
	if err != nil {
		t.Fatalf("opening a database of the former runner: %v", err)
	}
	defer s.Close()
	if got, want := schemaVersion(t, s), migrationCount(t); got != want {
		t.Fatalf("schema version = %d, want %d", got, want)
	}
	if _, err := s.GetParticipant(ctx, "p_kept"); err != nil {
		t.Fatalf("the participant stored before did not survive: %v", err)
	}
	var legacyLeft bool
	if err := s.Pool.QueryRow(ctx, "SELECT to_regclass('delivery.schema_migrations') IS NOT NULL").Scan(&legacyLeft); err != nil || legacyLeft {
		t.Fatalf("former record still there: %v %v", legacyLeft, err)
	}
}
