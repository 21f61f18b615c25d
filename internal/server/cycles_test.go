package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	return loc
}

// wantErr fails unless err has the code and its message contains msg.
func wantErr(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	if patchwave.ErrorCode(err) != code || !strings.Contains(patchwave.ErrorMessage(err), msg) {
		t.Errorf("%s: error %v, want %s containing %q", what, err, code, msg)
	}
}

// auditHas reports whether the newest audit events include action.
func auditHas(t *testing.T, c *client.Client, action string) bool {
	t.Helper()
	evs, err := c.Audit(context.Background(), 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == action {
			return true
		}
	}
	return false
}

// viewer creates a viewer and returns its client.
func viewer(t *testing.T, ts *testServer) *client.Client {
	t.Helper()
	if _, err := ts.Admin.CreateUser(context.Background(), client.NewUser{Name: "vi", Password: "password-vi", Role: patchwave.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	return client.New(ts.URL, login(t, ts.URL, "vi", "password-vi"))
}

func TestCadenceAndCycles(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		loc := berlin(t)
		now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		ts.Store().SetClock(func() time.Time { return now })

		def, err := ts.Admin.Cadence(ctx)
		if err != nil || def.TimeZone != "UTC" || !strings.Contains(def.RRule, "BYDAY=+2TU") || len(def.Phases) != 4 {
			t.Fatalf("default cadence %+v %v", def, err)
		}
		// The next three Patch Tuesdays from now, in UTC.
		cycles, zone, err := ts.Admin.Cycles(ctx, "", "", 0)
		if err != nil || zone != "UTC" || len(cycles) != 3 {
			t.Fatalf("cycles %+v %s %v", cycles, zone, err)
		}
		for i, want := range []time.Time{
			time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC),
			time.Date(2027, 1, 12, 18, 0, 0, 0, time.UTC),
			time.Date(2027, 2, 9, 18, 0, 0, 0, time.UTC),
		} {
			if !cycles[i].Release.Equal(want) {
				t.Errorf("cycle %d released %s, want %s", i, cycles[i].Release, want)
			}
		}
		if cycles[0].ID != "2026-12" {
			t.Errorf("cycle id %q, want 2026-12", cycles[0].ID)
		}

		// The cadence moves to Berlin time.
		cad := def
		cad.TimeZone = "Europe/Berlin"
		got, err := ts.Admin.PutCadence(ctx, cad)
		if err != nil || got.TimeZone != "Europe/Berlin" {
			t.Fatalf("put cadence %+v %v", got, err)
		}
		if again, _ := ts.Admin.Cadence(ctx); again.TimeZone != "Europe/Berlin" || again.RRule != def.RRule || len(again.Phases) != 4 {
			t.Fatalf("cadence after put %+v", again)
		}
		if !auditHas(t, ts.Admin, "cadence.update") {
			t.Error("no cadence.update audit event")
		}
		cycles, zone, err = ts.Admin.Cycles(ctx, "2026-12-01", "2027-01-01", 0)
		if err != nil || zone != "Europe/Berlin" || len(cycles) != 1 {
			t.Fatalf("December cycles %+v %s %v", cycles, zone, err)
		}
		dec := cycles[0]
		if want := time.Date(2026, 12, 8, 18, 0, 0, 0, loc); !dec.Release.Equal(want) {
			t.Errorf("December release %s, want %s", dec.Release, want)
		}
		phases := map[string]client.PhaseDates{}
		for _, p := range dec.Phases {
			phases[p.Name] = p
		}
		if p := phases["production"]; !p.Start.Equal(time.Date(2026, 12, 16, 0, 0, 0, 0, loc)) || !p.End.Equal(time.Date(2027, 1, 6, 0, 0, 0, 0, loc)) {
			t.Errorf("production phase %+v", p)
		}
		if p := phases["exclusion-deadline"]; !p.End.Equal(time.Date(2026, 12, 10, 0, 0, 0, 0, loc)) {
			t.Errorf("exclusion deadline %+v", p)
		}
		if cs, _, err := ts.Admin.Cycles(ctx, "", "", 12); err != nil || len(cs) != 12 {
			t.Errorf("12 cycles: %d %v", len(cs), err)
		}

		// Bad input is refused and nothing is stored.
		for _, tc := range []struct {
			name string
			c    client.Cadence
			msg  string
		}{
			{"unknown zone", client.Cadence{RRule: def.RRule, TimeZone: "Mars/Olympus", Phases: def.Phases}, "unknown time zone"},
			{"no zone", client.Cadence{RRule: def.RRule, Phases: def.Phases}, "time_zone is empty"},
			{"bad rrule", client.Cadence{RRule: "FREQ=MONTHLY;BYDAY=+9XX", TimeZone: "UTC", Phases: def.Phases}, "rrule"},
			{"hourly", client.Cadence{RRule: "FREQ=HOURLY", TimeZone: "UTC", Phases: def.Phases}, "rrule"},
			{"no phases", client.Cadence{RRule: def.RRule, TimeZone: "UTC"}, "no phases"},
			{"bad phase", client.Cadence{RRule: def.RRule, TimeZone: "UTC", Phases: []client.Phase{{Name: "x", Days: 0}}}, "phase \"x\""},
		} {
			_, err := ts.Admin.PutCadence(ctx, tc.c)
			wantErr(t, tc.name, err, patchwave.EInvalid, tc.msg)
		}
		if again, _ := ts.Admin.Cadence(ctx); again.TimeZone != "Europe/Berlin" {
			t.Errorf("cadence changed by bad input: %+v", again)
		}
		for _, q := range [][2]string{{"from", "yesterday"}, {"to", "2020-01-01"}} {
			from, to := "", ""
			if q[0] == "from" {
				from = q[1]
			} else {
				to = q[1]
			}
			_, _, err := ts.Admin.Cycles(ctx, from, to, 0)
			wantErr(t, "cycles "+q[0], err, patchwave.EInvalid, q[1])
		}

		vi := viewer(t, ts)
		if _, err := vi.Cadence(ctx); err != nil {
			t.Errorf("viewer reads the cadence: %v", err)
		}
		_, err = vi.PutCadence(ctx, def)
		wantErr(t, "viewer puts the cadence", err, patchwave.EForbidden, "may not")
	})
}

func TestWindows(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		loc := berlin(t)
		now := time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC) // a Tuesday
		ts.Store().SetClock(func() time.Time { return now })
		if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site,tier\nfiles-01,paris,business-operational\nlab-01,paris,lab\n")); err != nil {
			t.Fatal(err)
		}
		var warnings []string
		ts.Admin.OnWarning = func(msg string) { warnings = append(warnings, msg) }

		weekend := client.Window{Name: "weekend", RRule: "FREQ=WEEKLY;BYDAY=SA", Start: "2026-11-28T22:00", TimeZone: "Europe/Berlin",
			Duration: "4h", CutOff: "30m", Selector: patchwave.MustParseSelector("tier=business-operational")}
		got, err := ts.Admin.CreateWindow(ctx, weekend)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 0 || len(got.Next) != 3 || !got.Next[0].Start.Equal(time.Date(2026, 12, 19, 22, 0, 0, 0, loc)) ||
			!got.Next[0].CutOff.Equal(time.Date(2026, 12, 20, 1, 30, 0, 0, loc)) {
			t.Fatalf("created %+v", got)
		}
		if len(warnings) != 0 {
			t.Errorf("warnings for a matching selector: %q", warnings)
		}
		if !auditHas(t, ts.Admin, "window.create") {
			t.Error("no window.create audit event")
		}
		openings := func(host string) []time.Time {
			t.Helper()
			hw, err := ts.Admin.HostWindows(ctx, host, 0)
			if err != nil {
				t.Fatal(err)
			}
			var out []time.Time
			for _, o := range hw.Openings {
				out = append(out, o.Start.In(loc))
			}
			return out
		}
		sat := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 22, 0, 0, 0, loc) }
		jan := func(d int) time.Time { return time.Date(2027, 1, d, 22, 0, 0, 0, loc) }
		equal := func(a, b []time.Time) bool {
			if len(a) != len(b) {
				return false
			}
			for i := range a {
				if !a[i].Equal(b[i]) {
					return false
				}
			}
			return true
		}
		before := []time.Time{sat(12, 19), sat(12, 26), jan(2)}
		if got := openings("files-01"); !equal(got, before) {
			t.Errorf("openings %v, want %v", got, before)
		}
		if got := openings("lab-01"); len(got) != 0 {
			t.Errorf("lab host has openings %v", got)
		}

		// A change freeze over Christmas takes out the 26th.
		freeze := client.Window{Name: "freeze", RRule: "FREQ=YEARLY", Start: "2026-12-21T00:00", TimeZone: "Europe/Berlin",
			Duration: "168h", Selector: patchwave.MustParseSelector("tier=business-operational"), Blocking: true}
		if _, err := ts.Admin.CreateWindow(ctx, freeze); err != nil {
			t.Fatal(err)
		}
		after := []time.Time{sat(12, 19), jan(2), jan(9)}
		if got := openings("files-01"); !equal(got, after) {
			t.Errorf("openings with the freeze %v, want %v", got, after)
		}
		hw, _ := ts.Admin.HostWindows(ctx, "files-01", 0)
		if strings.Join(hw.Windows, ",") != "weekend,freeze" {
			t.Errorf("host windows %q", hw.Windows)
		}

		// A selector that matches nobody is stored, with a warning.
		nobody := weekend
		nobody.Name, nobody.Selector = "nobody", patchwave.MustParseSelector("site=atlantis")
		if _, err := ts.Admin.CreateWindow(ctx, nobody); err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "matches no host") {
			t.Errorf("warnings %q", warnings)
		}

		// An opening that overlaps another for the same hosts is stored, with a warning.
		warnings = nil
		sunday := weekend
		sunday.Name, sunday.Start = "late-saturday", "2026-11-28T23:00"
		if _, err := ts.Admin.CreateWindow(ctx, sunday); err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], `"late-saturday" overlaps window "weekend"`) {
			t.Errorf("overlap warnings %q", warnings)
		}
		if err := ts.Admin.DeleteWindow(ctx, "late-saturday"); err != nil {
			t.Fatal(err)
		}

		ws, err := ts.Admin.Windows(ctx)
		if err != nil || len(ws) != 3 || ws[0].Name != "weekend" || ws[1].Name != "freeze" || !ws[1].Blocking || len(ws[0].Next) != 3 ||
			ws[0].RRule != "FREQ=WEEKLY;BYDAY=SA" || ws[0].TimeZone != "Europe/Berlin" || ws[0].Duration != "4h0m0s" || ws[0].CutOff != "30m0s" {
			t.Fatalf("windows %+v %v", ws, err)
		}

		// Bad input.
		for _, tc := range []struct {
			name string
			edit func(w *client.Window)
			code string
			msg  string
		}{
			{"duration 0", func(w *client.Window) { w.Duration = "0s" }, patchwave.EInvalid, "must be positive"},
			{"no duration", func(w *client.Window) { w.Duration = "" }, patchwave.EInvalid, "duration is empty"},
			{"cut-off = duration", func(w *client.Window) { w.CutOff = "4h" }, patchwave.EInvalid, "not shorter than the duration"},
			{"cut-off > duration", func(w *client.Window) { w.CutOff = "5h" }, patchwave.EInvalid, "not shorter than the duration"},
			{"longer than the period", func(w *client.Window) { w.Duration = "200h" }, patchwave.EInvalid, "longer than the rule's period"},
			{"unknown zone", func(w *client.Window) { w.TimeZone = "Europe/Atlantis" }, patchwave.EInvalid, "unknown time zone"},
			{"bad rrule", func(w *client.Window) { w.RRule = "FREQ=WEEKLY;BYDAY=XX" }, patchwave.EInvalid, "rrule"},
			{"bad start", func(w *client.Window) { w.Start = "saturday" }, patchwave.EInvalid, "start"},
			{"no name", func(w *client.Window) { w.Name = "" }, patchwave.EInvalid, "name"},
			{"duplicate", func(w *client.Window) {}, patchwave.EConflict, "already exists"},
		} {
			w := weekend
			if tc.name != "duplicate" {
				w.Name = "bad"
			}
			tc.edit(&w)
			_, err := ts.Admin.CreateWindow(ctx, w)
			wantErr(t, tc.name, err, tc.code, tc.msg)
		}
		if ws, _ := ts.Admin.Windows(ctx); len(ws) != 3 {
			t.Errorf("bad input stored a window: %+v", ws)
		}

		// A viewer reads but does not change.
		vi := viewer(t, ts)
		if _, err := vi.HostWindows(ctx, "files-01", 0); err != nil {
			t.Errorf("viewer reads host windows: %v", err)
		}
		v := weekend
		v.Name = "viewer"
		_, err = vi.CreateWindow(ctx, v)
		wantErr(t, "viewer creates", err, patchwave.EForbidden, "may not")
		wantErr(t, "viewer deletes", vi.DeleteWindow(ctx, "freeze"), patchwave.EForbidden, "may not")

		// Deleting the freeze brings the 26th back.
		if err := ts.Admin.DeleteWindow(ctx, "freeze"); err != nil {
			t.Fatal(err)
		}
		if got := openings("files-01"); !equal(got, before) {
			t.Errorf("openings after deleting the freeze %v, want %v", got, before)
		}
		if !auditHas(t, ts.Admin, "window.delete") {
			t.Error("no window.delete audit event")
		}
		wantErr(t, "delete again", ts.Admin.DeleteWindow(ctx, "freeze"), patchwave.ENotFound, "not found")
		_, err = ts.Admin.HostWindows(ctx, "no-such-host", 0)
		wantErr(t, "unknown host", err, patchwave.ENotFound, "")
	})
}
