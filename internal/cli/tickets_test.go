package cli

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

func TestTicketsCLI(t *testing.T) {
	ctx := context.Background()
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword, Listen: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	t.Cleanup(hook.Close)

	st := srv.Store()
	err = st.Write(ctx, func(tx *store.Tx) error {
		_, _, err := tx.ImportAssets([]store.Asset{{Hostname: "db-01", Site: "fra", Tier: patchwave.TierMissionCritical}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := st.Host(ctx, "db-01")
	err = st.Write(ctx, func(tx *store.Tx) error {
		now := tx.Now()
		id, err := tx.CreateHostTask(store.HostTaskRequest{HostID: h.ID, Kind: patchwave.TaskReboot, Reason: "test", NotAfter: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)})
		if err != nil {
			return err
		}
		_, _, err = tx.ReportTask(h.ID, patchwave.TaskResult{TaskID: id, Attempt: 1, State: patchwave.TaskFailed, Error: "the host did not reboot within 15m0s of the reboot command"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	admin := newTestEnv(t, nil)
	admin.login(t, hs.URL, "admin", adminPassword)
	admin.ok(t, "", "notifications", "channels", "add", "ops", "--kind", "webhook", "--url", hook.URL, "--secret", "s")
	admin.fails(t, "", `scheme "ftp" refused`, "notifications", "channels", "add", "bad", "--kind", "webhook", "--url", "ftp://x/")
	if out := admin.ok(t, "", "notifications", "channels", "list"); !strings.Contains(out, "ops") || !strings.Contains(out, "webhook") {
		t.Errorf("channels list:\n%s", out)
	}
	if err := srv.Follow().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	out := admin.ok(t, "", "tickets", "list")
	if !strings.Contains(out, "db-01") || !strings.Contains(out, "critical") || !strings.Contains(out, "reboot-timeout") {
		t.Errorf("tickets list:\n%s", out)
	}
	var list []ticket.Ticket
	decode(t, admin.ok(t, "", "tickets", "list", "-o", "json"), &list)
	if len(list) != 1 {
		t.Fatalf("tickets %+v", list)
	}
	out = admin.ok(t, "", "tickets", "show", "1")
	if !strings.Contains(out, "Guide: The host did not come back after its reboot") || !strings.Contains(out, "History:") {
		t.Errorf("tickets show:\n%s", out)
	}
	admin.ok(t, "", "tickets", "comment", "1", "--comment", "console shows fsck")
	if r := admin.run(t, "", "tickets", "wont-fix", "1"); r.code != 2 || !strings.Contains(r.stderr, "--comment is required") {
		t.Errorf("wont-fix without a comment: exit %d, %s", r.code, r.stderr)
	}
	if out := admin.ok(t, "", "tickets", "ack", "1"); !strings.Contains(out, "acknowledged") {
		t.Errorf("ack: %s", out)
	}
	admin.fails(t, "", "acknowledged already", "tickets", "ack", "1")
	admin.ok(t, "", "tickets", "resolve", "1", "--comment", "back up")
	if out := admin.ok(t, "", "tickets", "list"); strings.Contains(out, "db-01") {
		t.Errorf("a resolved ticket is listed by default:\n%s", out)
	}
	if out := admin.ok(t, "", "tickets", "list", "--state", "resolved"); !strings.Contains(out, "db-01") {
		t.Errorf("--state resolved:\n%s", out)
	}

	// The receiver is down: the notices wait in the outbox with their error.
	if _, err := srv.Outbox().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	out = admin.ok(t, "", "notifications", "outbox")
	if !strings.Contains(out, "ops") || !strings.Contains(out, "pending") || !strings.Contains(out, "503") {
		t.Errorf("outbox:\n%s", out)
	}
	admin.fails(t, "", `release "2026-12" not found`, "tickets", "report", "2026-12", "db-01", "--message", "slow")
	admin.ok(t, "", "notifications", "channels", "delete", "ops")
	if out := admin.ok(t, "", "notifications", "channels", "list"); strings.Contains(out, "ops") {
		t.Errorf("deleted channel listed:\n%s", out)
	}
}
