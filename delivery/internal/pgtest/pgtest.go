// Package pgtest gives tests a real Postgres: the server named by TEST_DATABASE_URL, or a
// throwaway cluster started from the machine's PostgreSQL binaries, and a fresh database
// per test.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var serverURL string

// Main runs a test package's tests with a Postgres server available; call it from TestMain.
func Main(m *testing.M) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		serverURL = u
		os.Exit(m.Run())
	}
	stop, u, err := startCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	serverURL = u
	code := m.Run()
	stop()
	os.Exit(code)
}

// NewDatabase creates an empty database for this test and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	u, err := createDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func createDatabase() (string, error) {
	if serverURL == "" {
		return "", fmt.Errorf("pgtest.Main was not called from TestMain")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "delivery_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connecting to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database: %w", err)
	}
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return u.String(), nil
}

func bindir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(matches)
	if len(matches) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries: install Debian's postgresql package")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// asOwner runs a PostgreSQL program, as the postgres user when we are root (PostgreSQL
// refuses to run as root).
func asOwner(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func startCluster() (stop func(), serverURL string, err error) {
	bin, err := bindir()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "delivery-pg-")
	if err != nil {
		return nil, "", err
	}
	_ = os.Chmod(dir, 0o777)
	data := filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte("test\n"), 0o644); err != nil {
		return nil, "", err
	}
	if out, err := asOwner(filepath.Join(bin, "initdb"), "-D", data, "-U", "test", "--pwfile="+pwfile,
		"--auth=scram-sha-256", "--locale=C", "--encoding=UTF8").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c synchronous_commit=off -c max_connections=200", port, data)
	if out, err := asOwner(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "start").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	stop = func() {
		_ = asOwner(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").Run()
		_ = os.RemoveAll(dir)
	}
	u := fmt.Sprintf("postgres://test:test@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := pgx.Connect(context.Background(), u); err == nil {
			conn.Close(context.Background())
			return stop, u, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, "", fmt.Errorf("test postgres did not start on port %d", port)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return strconv.Atoi(port)
}
