// Package storetest opens real databases for tests: a SQLite file in the
// test's temporary directory always, and a fresh PostgreSQL database when
// PATCHWAVE_TEST_POSTGRES names a server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver
)

// EnvPostgres names the environment variable with a PostgreSQL URL for tests.
const EnvPostgres = "PATCHWAVE_TEST_POSTGRES"

// DSN is a database for one test.
type DSN struct {
	Name string // "sqlite" or "postgres"
	URL  string // what store.Open takes
}

// DSNs returns a SQLite DSN, and a PostgreSQL one when EnvPostgres is set
// (the database is created now and dropped when the test ends).
func DSNs(t testing.TB) []DSN {
	out := []DSN{{Name: "sqlite", URL: filepath.Join(t.TempDir(), "patchwave.db")}}
	if u := Postgres(t, false); u != "" {
		out = append(out, DSN{Name: "postgres", URL: u})
	}
	return out
}

// Postgres creates a fresh PostgreSQL database and returns its URL, or ""
// after logging how to enable such tests when EnvPostgres is unset. With
// required, the test is skipped instead.
func Postgres(t testing.TB, required bool) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		msg := "PostgreSQL tests skipped: set " + EnvPostgres + "=postgres://user@127.0.0.1:5432/dbname?sslmode=disable to run them"
		if required {
			t.Skip(msg)
		}
		t.Log(msg)
		return ""
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "patchwave_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer a.Close()
		if _, err := a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}
