package sched

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/store/storetest"
	"github.com/patchwave/patchwave/internal/ticket"
)

// ticketRig is a store with two hosts, on which tests fail and pass tasks.
type ticketRig struct {
	t   *testing.T
	st  *store.Store
	ids map[string]int64
}

func openTicketRig(t *testing.T, dsn string) *ticketRig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, func(tx *store.Tx) error {
		_, _, err := tx.ImportAssets([]store.Asset{
			{Hostname: "erp01", Site: "fra", Tier: patchwave.TierMissionCritical, OS: "debian 12"},
			{Hostname: "lab01", Site: "ber", Tier: patchwave.TierLab, OS: "debian 12"},
		})
		if err != nil {
			return err
		}
		return tx.CreateChannel(&store.Channel{Name: "hook", Kind: "webhook", Config: []byte(`{"url":"http://127.0.0.1:1/"}`), CreatedBy: "test"})
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := st.AllHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &ticketRig{t: t, st: st, ids: map[string]int64{}}
	for _, h := range hosts {
		r.ids[h.Hostname] = h.ID
	}
	return r
}

// task runs a task of kind with patch set ps on host to state, with err.
func (r *ticketRig) task(host string, kind patchwave.TaskKind, ps string, state patchwave.TaskState, errText string) int64 {
	r.t.Helper()
	var id int64
	err := r.st.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		now := tx.Now()
		id, err = tx.CreateHostTask(store.HostTaskRequest{HostID: r.ids[host], Kind: kind, PatchSet: ps, Reason: "test", RequestedBy: "test",
			NotAfter: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)})
		if err != nil {
			return err
		}
		_, _, err = tx.ReportTask(r.ids[host], patchwave.TaskResult{TaskID: id, Attempt: 1, State: state, Error: errText, Output: "E: Could not get lock /var/lib/dpkg/lock-frontend"})
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *ticketRig) tickets() []ticket.Ticket {
	r.t.Helper()
	ts, _, err := r.st.ListTickets(context.Background(), store.TicketFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return ts
}

func TestTicketsFollowTasks(t *testing.T) {
	for _, dsn := range storetest.DSNs(t) {
		t.Run(dsn.Name, func(t *testing.T) {
			ctx := context.Background()
			r := openTicketRig(t, dsn.URL)
			f := NewFollow(r.st, nil)

			first := r.task("erp01", patchwave.TaskVerify, "ps1", patchwave.TaskFailed, "verification failed: nginx is not running")
			r.task("lab01", patchwave.TaskReboot, "", patchwave.TaskFailed, "the host did not reboot within 15m0s of the reboot command")
			r.task("lab01", patchwave.TaskScan, "", patchwave.TaskSucceeded, "")

			// Two replicas tick at once: each failure is counted once.
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if err := NewFollow(r.st, nil).Tick(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			ts := r.tickets()
			if len(ts) != 2 {
				t.Fatalf("%d tickets, want 2: %+v", len(ts), ts)
			}
			erp, lab := ts[0], ts[1]
			if erp.Hostname != "erp01" || erp.Reason != ticket.ReasonVerify || erp.Severity != ticket.SevCritical || erp.State != ticket.Open ||
				erp.Occurrences != 1 || erp.TaskID != first || erp.Site != "fra" || erp.Queue != ticket.DefaultQueue {
				t.Errorf("erp01 ticket: %+v", erp)
			}
			if lab.Reason != ticket.ReasonRebootTimeout || lab.Severity != ticket.SevMedium || lab.Patch != "kind:reboot" {
				t.Errorf("lab01 ticket: %+v", lab)
			}

			// A repeat of the same failure counts on the same ticket.
			again := r.task("erp01", patchwave.TaskVerify, "ps1", patchwave.TaskFailed, "verification failed: nginx is not running")
			// Another patch set is another ticket.
			r.task("erp01", patchwave.TaskVerify, "ps2", patchwave.TaskFailed, "verification failed: nginx is not running")
			res, err := f.TickResult(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Opened != 1 || res.Counted != 1 || res.Resolved != 0 {
				t.Errorf("tick: %+v, want one opened and one counted", res)
			}
			if res, _ := f.TickResult(ctx); res != (TickResult{}) {
				t.Errorf("a second tick changed %+v", res)
			}
			got, err := r.st.Ticket(ctx, erp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Occurrences != 2 || got.TaskID != again || len(got.Events) != 2 || got.Events[1].Kind != "occurred" {
				t.Errorf("after a repeat: %+v", got)
			}

			// A person acknowledges; a later verify of erp01 succeeds and
			// resolves both its tickets, not lab01's.
			err = r.st.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.SetTicketState(erp.ID, ticket.Acknowledged, "alice", "looking")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = r.st.Write(ctx, func(tx *store.Tx) error { _, err := tx.SetTicketState(erp.ID, ticket.Open, "alice", ""); return err })
			if patchwave.ErrorCode(err) != patchwave.EConflict {
				t.Errorf("acknowledged → open: %v, want a conflict", err)
			}
			time.Sleep(2 * time.Millisecond) // the success must come after the failures, at millisecond resolution
			r.task("erp01", patchwave.TaskVerify, "ps1", patchwave.TaskSucceeded, "")
			if res, err := f.TickResult(ctx); err != nil || res.Resolved != 2 {
				t.Errorf("tick after a success: %+v %v, want 2 resolved", res, err)
			}
			for _, tk := range r.tickets() {
				want := ticket.Resolved
				if tk.Hostname == "lab01" {
					want = ticket.Open
				}
				if tk.State != want || (want == ticket.Resolved && tk.ClosedAt == nil) {
					t.Errorf("ticket %d on %s: %s, want %s", tk.ID, tk.Hostname, tk.State, want)
				}
			}

			// The failure comes back: the resolved ticket opens again.
			time.Sleep(2 * time.Millisecond)
			r.task("erp01", patchwave.TaskVerify, "ps1", patchwave.TaskFailed, "verification failed: nginx is not running")
			if res, _ := f.TickResult(ctx); res.Opened != 1 {
				t.Errorf("tick after a relapse: %+v", res)
			}
			if got, _ := r.st.Ticket(ctx, erp.ID); got.State != ticket.Open || got.Occurrences != 3 || got.EscalationLevel != 0 {
				t.Errorf("reopened: %+v", got)
			}

			// Every change people should hear of is queued once per channel:
			// 3 opened, 2 resolved, 1 reopened.
			items, err := r.st.ListOutbox(ctx, store.OutboxPending, 100)
			if err != nil {
				t.Fatal(err)
			}
			events := map[string]int{}
			for _, it := range items {
				events[it.Event]++
			}
			if len(items) != 6 || events["ticket.opened"] != 3 || events["ticket.resolved"] != 2 || events["ticket.reopened"] != 1 {
				t.Errorf("outbox: %v", events)
			}
		})
	}
}

// TestTicketEscalation runs the loop through two days on a fake clock: an
// unacknowledged critical ticket escalates after 4 and 24 hours, once
// each; an acknowledged one never does.
func TestTicketEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := openTicketRig(t, filepath.Join(t.TempDir(), "patchwave.db"))
		defer r.st.Close()
		f := NewFollow(r.st, nil)
		r.task("erp01", patchwave.TaskVerify, "ps1", patchwave.TaskFailed, "verification failed: nginx is not running")
		r.task("erp01", patchwave.TaskVerify, "ps2", patchwave.TaskFailed, "verification failed: nginx is not running")
		if err := f.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		ts := r.tickets()
		if len(ts) != 2 {
			t.Fatalf("%d tickets", len(ts))
		}
		quiet, acked := ts[0].ID, ts[1].ID
		if err := r.st.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.SetTicketState(acked, ticket.Acknowledged, "bob", "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		opened := time.Now()
		levels := map[time.Duration]int{}
		for step := time.Duration(0); step <= 48*time.Hour; step += 15 * time.Minute {
			time.Sleep(time.Until(opened.Add(step)))
			if err := f.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			tk, err := r.st.Ticket(ctx, quiet)
			if err != nil {
				t.Fatal(err)
			}
			levels[step] = tk.EscalationLevel
		}
		for step, want := range map[time.Duration]int{0: 0, 3*time.Hour + 45*time.Minute: 0, 4 * time.Hour: 1, 23*time.Hour + 45*time.Minute: 1, 24 * time.Hour: 2, 48 * time.Hour: 2} {
			if levels[step] != want {
				t.Errorf("after %s: level %d, want %d", step, levels[step], want)
			}
		}
		tk, _ := r.st.Ticket(ctx, quiet)
		var esc []string
		for _, e := range tk.Events {
			if e.Kind == "escalated" {
				esc = append(esc, e.Body)
			}
		}
		if len(esc) != 2 || tk.EscalatedTo != "head-of-operations" {
			t.Errorf("escalations %q, escalated to %q", esc, tk.EscalatedTo)
		}
		if tk, _ := r.st.Ticket(ctx, acked); tk.EscalationLevel != 0 {
			t.Errorf("an acknowledged ticket escalated: %+v", tk)
		}
		items, _ := r.st.ListOutbox(ctx, store.OutboxPending, 100)
		n := 0
		for _, it := range items {
			if it.Event == "ticket.escalated" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d escalation notices, want 2", n)
		}
	})
}
