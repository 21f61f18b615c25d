package server_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

const adminPassword = "admin-password-for-tests"

// testServer is a real server on httptest with its admin signed in.
type testServer struct {
	*server.Server
	URL   string
	Admin *client.Client
	Log   *strings.Builder
}

// newServer starts a server on the database dsn ("" for SQLite in a temp dir).
func newServer(t testing.TB, dsn string) *testServer {
	t.Helper()
	return startServer(t, dsn, t.TempDir())
}

// newServerIn starts a server on SQLite in dataDir.
func newServerIn(t testing.TB, dataDir string) *testServer {
	t.Helper()
	return startServer(t, "", dataDir)
}

func startServer(t testing.TB, dsn, dataDir string) *testServer {
	t.Helper()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&lockedWriter{b: &logs}, nil))
	srv, err := server.New(context.Background(), server.Config{DataDir: dataDir, Database: dsn, AdminPassword: adminPassword, Listen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &testServer{Server: srv, URL: hs.URL, Admin: client.New(hs.URL, login(t, hs.URL, "admin", adminPassword)), Log: &logs}
}

// eachDB runs fn on a server over SQLite, and over PostgreSQL when enabled.
func eachDB(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	for _, d := range storetest.DSNs(t) {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.URL
			if d.Name == "sqlite" {
				dsn = ""
			}
			fn(t, newServer(t, dsn))
		})
	}
}

func login(t testing.TB, url, user, password string) string {
	t.Helper()
	var out struct{ Token string }
	if err := client.New(url, "").Do(context.Background(), "POST", "/api/v1/login", nil, map[string]string{"user": user, "password": password}, &out); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return out.Token
}
