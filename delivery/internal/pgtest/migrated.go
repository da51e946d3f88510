package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The database NewMigratedDatabase hands out, one per test process.
var migrated struct {
	sync.Mutex
	url    string
	tables []string          // every table but the migrations' record
	seeds  map[string][]byte // what the migrations put in a table (COPY text), by table
}

// NewMigratedDatabase returns a database with the schema that migrate brings it to and
// nothing else: the test process's one database, migrated on the first call and emptied
// on each later one (every table truncated, and the rows the migrations seed put back).
// A new database per test cost the server a third of a second (CREATE DATABASE copies a
// template through the WAL) and the migrations again: most of what the Go tests cost
// Postgres. Tests in a package run one at a time, and each closes its pool when it ends.
func NewMigratedDatabase(t testing.TB, migrate func(ctx context.Context, url string) error) string {
	t.Helper()
	migrated.Lock()
	defer migrated.Unlock()
	ctx := context.Background()
	var err error
	if migrated.url == "" {
		err = prepare(ctx, migrate)
	} else {
		err = empty(ctx)
	}
	if err != nil {
		t.Fatalf("pgtest: the migrated database: %v", err)
	}
	return migrated.url
}

// prepare creates and migrates the database and records its tables and seeded rows.
func prepare(ctx context.Context, migrate func(ctx context.Context, url string) error) error {
	u, err := createDatabase()
	if err != nil {
		return err
	}
	if err := migrate(ctx, u); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename <> 'schema_version'`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	seeds := map[string][]byte{}
	for _, table := range tables {
		var buf bytes.Buffer
		tag, err := conn.PgConn().CopyTo(ctx, &buf, "COPY "+table+" TO STDOUT")
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		// Put back as they were, the rows would leave a sequence behind its column.
		var sequences int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
			WHERE s.relkind = 'S' AND d.refobjid = $1::regclass`, table).Scan(&sequences); err != nil {
			return err
		}
		if sequences > 0 {
			return fmt.Errorf("%s is seeded by a migration and has a sequence: teach pgtest to restore it", table)
		}
		seeds[table] = buf.Bytes()
	}
	migrated.url, migrated.tables, migrated.seeds = u, tables, seeds
	return nil
}

// empty truncates every table and puts the seeded rows back.
func empty(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, migrated.url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// A connection the last test left in a transaction would hold this up: fail instead.
	if _, err := conn.Exec(ctx, "SET lock_timeout = '10s'"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "TRUNCATE "+strings.Join(migrated.tables, ", ")+" RESTART IDENTITY"); err != nil {
		return err
	}
	for table, rows := range migrated.seeds {
		if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(rows), "COPY "+table+" FROM STDIN"); err != nil {
			return err
		}
	}
	return nil
}
