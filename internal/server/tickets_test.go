package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/notify"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// failTask makes a host and a failed task on it, as an agent would have
// reported, and returns the task's id.
func failTask(t *testing.T, ts *testServer, host, site string, tier patchwave.Tier, kind patchwave.TaskKind, errText, output string) int64 {
	t.Helper()
	st := ts.Store()
	var id int64
	err := st.Write(context.Background(), func(tx *store.Tx) error {
		if _, _, err := tx.ImportAssets([]store.Asset{{Hostname: host, Site: site, Tier: tier}}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.Host(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(context.Background(), func(tx *store.Tx) error {
		now := tx.Now()
		var err error
		id, err = tx.CreateHostTask(store.HostTaskRequest{HostID: h.ID, Kind: kind, Reason: "test", RequestedBy: "admin", NotAfter: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)})
		if err != nil {
			return err
		}
		_, _, err = tx.ReportTask(h.ID, patchwave.TaskResult{TaskID: id, Attempt: 1, State: patchwave.TaskFailed, Error: errText, Output: output})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestTicketsAPI opens a ticket from a failed task and works it through
// the API and the typed client, with a webhook channel that receives
// signed notices through the outbox.
func TestTicketsAPI(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []ticket.Notice
		var bad int
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := r.Body.Read(buf)
				body.Write(buf[:n])
				if err != nil {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if r.Header.Get(notify.SignatureHeader) != notify.Sign("k3y", r.Header.Get(notify.TimestampHeader), []byte(body.String())) {
				bad++
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var n ticket.Notice
			json.Unmarshal([]byte(body.String()), &n)
			got = append(got, n)
		}))
		defer hook.Close()
		if _, err := ts.Admin.CreateChannel(ctx, client.Channel{Name: "hook", Kind: "webhook", Config: client.ChannelConfig{URL: hook.URL, Secret: "k3y"}}); err != nil {
			t.Fatal(err)
		}
		task := failTask(t, ts, "web-01", "paris", patchwave.TierBusinessCritical, patchwave.TaskScan, "scan failed",
			"E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)")
		if err := ts.Follow().Tick(ctx); err != nil {
			t.Fatal(err)
		}
		list, _, err := ts.Admin.Tickets(ctx, nil)
		if err != nil || len(list) != 1 {
			t.Fatalf("tickets %+v %v", list, err)
		}
		tk, err := ts.Admin.Ticket(ctx, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.TaskID != task || tk.Severity != "high" || tk.Guide == nil || tk.Guide.Name != "pkg-lock" || !strings.Contains(tk.Output, "unattended-upgr") || tk.Site != "paris" {
			t.Errorf("ticket %+v guide %+v", tk, tk.Guide)
		}
		if _, err := ts.Admin.TicketAct(ctx, tk.ID, "ack", "on it"); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Admin.TicketAct(ctx, tk.ID, "ack", "again"); patchwave.ErrorCode(err) != patchwave.EConflict {
			t.Errorf("acknowledging twice: %v, want a conflict", err)
		}
		done, err := ts.Admin.TicketAct(ctx, tk.ID, "resolve", "freed the lock")
		if err != nil || done.State != "resolved" || len(done.Events) != 3 {
			t.Errorf("resolved %+v %v", done, err)
		}
		if n, err := ts.Outbox().Tick(ctx); err != nil || n != 3 {
			t.Errorf("delivered %d, %v; want opened, acknowledged and resolved", n, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 3 || bad != 0 || got[0].Event != "ticket.opened" || got[2].Event != "ticket.resolved" || got[0].Ticket.Hostname != "web-01" {
			t.Errorf("the receiver got %+v (%d refused)", got, bad)
		}
		ob, err := ts.Admin.Outbox(ctx, "sent", 0)
		if err != nil || len(ob.Items) != 3 || len(ob.Counts) != 1 || ob.Counts[0].Count != 3 {
			t.Errorf("outbox %+v %v", ob, err)
		}
		chs, err := ts.Admin.Channels(ctx)
		if err != nil || len(chs) != 1 || chs[0].Config.Secret != "redacted" {
			t.Errorf("channels %+v %v: the secret must not come back", chs, err)
		}
	})
}

// TestTicketsAPIRefusesBadInput sends malformed, oversized and hostile
// requests to every follow-up endpoint.
func TestTicketsAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	failTask(t, ts, "web-01", "paris", patchwave.TierLab, patchwave.TaskScan, "scan failed", "")
	if err := ts.Follow().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, _, _ := ts.Admin.Tickets(ctx, nil)
	if len(list) != 1 {
		t.Fatalf("tickets %+v", list)
	}
	tk := fmt.Sprintf("/api/v1/tickets/%d", list[0].ID)
	if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "vi", Password: "password-vi", Role: patchwave.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "sa", Password: "password-sa", Role: patchwave.RoleSiteAdmin, Sites: []string{"berlin"}}); err != nil {
		t.Fatal(err)
	}
	admin := login(t, ts.URL, "admin", adminPassword)
	viewer := login(t, ts.URL, "vi", "password-vi")
	siteAdmin := login(t, ts.URL, "sa", "password-sa")
	big := strings.Repeat("x", 2<<20)
	for _, c := range []struct {
		method, path, token, body string
		status                    int
		want                      string
	}{
		{"GET", "/api/v1/tickets?state=closed", admin, "", 400, "ticket state"},
		{"GET", "/api/v1/tickets?severity=urgent", admin, "", 400, "severity"},
		{"GET", "/api/v1/tickets?limit=0", admin, "", 400, "limit"},
		{"GET", "/api/v1/tickets?limit=abc", admin, "", 400, "limit"},
		{"GET", "/api/v1/tickets?site=a%0Ab", admin, "", 400, "site"},
		{"GET", "/api/v1/tickets?host=nope", admin, "", 404, "nope"},
		{"GET", "/api/v1/tickets/abc", admin, "", 400, ""},
		{"GET", "/api/v1/tickets/999999", admin, "", 404, "ticket 999999 not found"},
		{"POST", tk + "/ack", admin, `{"comment":"x","extra":1}`, 400, "unknown field"},
		{"POST", tk + "/ack", admin, `{"comment":`, 400, "not valid"},
		{"POST", tk + "/ack", admin, `{"comment":"` + strings.Repeat("c", 4001) + `"}`, 400, "at most 4000"},
		{"POST", tk + "/ack", admin, `{"comment":"` + big + `"}`, 413, "larger than the limit"},
		{"POST", tk + "/ack", admin, "{\"comment\":\"\xff\"}", 400, "UTF-8"},
		{"POST", tk + "/wont-fix", admin, `{}`, 400, "comment is required"},
		{"POST", tk + "/comments", admin, `{"comment":"  "}`, 400, "comment is required"},
		{"POST", tk + "/reopen", admin, `{}`, 409, "open already"},
		{"POST", tk + "/ack", viewer, `{}`, 403, ""},
		{"POST", tk + "/ack", siteAdmin, `{}`, 403, "paris"},
		{"POST", "/api/v1/tickets/999999/ack", admin, `{}`, 404, "not found"},
		{"PUT", "/api/v1/ticket-policy", admin, `{"escalations":[{"after":"1s","to":"x"}]}`, 400, "after 1s"},
		{"PUT", "/api/v1/ticket-policy", admin, `{"escalations":[{"after":"soon","to":"x"}]}`, 400, "duration"},
		{"PUT", "/api/v1/ticket-policy", admin, `{"routes":[{"tier":"gold"}]}`, 400, "tier"},
		{"PUT", "/api/v1/ticket-policy", viewer, `{"routes":[]}`, 403, ""},
		{"POST", "/api/v1/guides", admin, `{"name":"x","title":"t","pattern":"(","steps":["s"]}`, 400, "pattern"},
		{"POST", "/api/v1/guides", admin, `{"name":"x","title":"t","pattern":"` + strings.Repeat("a", 513) + `","steps":["s"]}`, 400, "pattern must be"},
		{"POST", "/api/v1/guides", admin, `{"name":"../x","title":"t","pattern":"a","steps":["s"]}`, 400, "guide name"},
		{"POST", "/api/v1/guides", admin, `{"name":"pkg-lock","title":"t","pattern":"a","steps":["s"]}`, 409, "built in"},
		{"POST", "/api/v1/guides", admin, `{"name":"x","title":"t","pattern":"a","steps":["s"],"built_in":true}`, 400, "built_in"},
		{"POST", "/api/v1/guides", admin, `{"name":"x","title":"t","pattern":"a","steps":[]}`, 400, "steps"},
		{"POST", "/api/v1/guides", admin, `{"name":"x","title":"t","pattern":"a","steps":["` + strings.Repeat("s", 70000) + `"]}`, 413, "larger than the limit"},
		{"POST", "/api/v1/guides", viewer, `{"name":"x","title":"t","pattern":"a","steps":["s"]}`, 403, ""},
		{"DELETE", "/api/v1/guides/pkg-lock", admin, "", 404, "not found"},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"a","kind":"webhook","config":{"url":"file:///etc/passwd"}}`, 400, `scheme "file" refused`},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"a","kind":"slack","config":{"url":"javascript:alert(1)"}}`, 400, "refused"},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"a","kind":"webhook","config":{"url":"gopher://h/"}}`, 400, "refused"},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"a","kind":"email","config":{"smtp":"m:25","from":"a@b.c\r\nBcc: e@f.g","to":["x@y.z"]}}`, 400, "from"},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"a","kind":"fax","config":{}}`, 400, "kind"},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"A B","kind":"webhook","config":{"url":"https://x/"}}`, 400, "channel name"},
		{"POST", "/api/v1/notifications/channels", admin, `{"name":"a","kind":"webhook","config":{"url":"https://x/","bogus":1}}`, 400, "unknown field"},
		{"POST", "/api/v1/notifications/channels", viewer, `{"name":"a","kind":"webhook","config":{"url":"https://x/"}}`, 403, ""},
		{"GET", "/api/v1/notifications/channels", viewer, "", 403, ""},
		{"DELETE", "/api/v1/notifications/channels/nope", admin, "", 404, "not found"},
		{"GET", "/api/v1/notifications/outbox?state=lost", admin, "", 400, "state"},
		{"POST", "/api/v1/releases/2026-12/feedback", viewer, `{"host":"web-01","message":"  "}`, 400, "needs a message"},
		{"POST", "/api/v1/releases/2026-12/feedback", viewer, `{"message":"broken"}`, 400, "names the host"},
		{"POST", "/api/v1/releases/2026-12/feedback", viewer, `{"host":"web-01","message":"` + strings.Repeat("m", 4001) + `"}`, 400, "at most 4000"},
		{"POST", "/api/v1/releases/2026-12/feedback", viewer, `{"host":"web-01","message":"` + strings.Repeat("m", 70000) + `"}`, 413, "larger than the limit"},
		{"POST", "/api/v1/releases/2026-12/feedback", viewer, `{"host":"web-01","message":"x","ticket":"yes"}`, 400, "not valid"},
		{"POST", "/api/v1/releases/2026-12/feedback", viewer, `{"host":"web-01","message":"x"}`, 404, "2026-12"},
		{"POST", "/api/v1/releases/2026-12/feedback", "", `{"host":"web-01","message":"x"}`, 401, ""},
		{"GET", "/api/v1/notifications/outbox?limit=5000", admin, "", 400, "limit"},
	} {
		var body []byte
		ctype := ""
		if c.body != "" {
			body, ctype = []byte(c.body), "application/json"
		}
		st, _, b := call(t, c.method, ts.URL+c.path, c.token, ctype, body)
		if st != c.status || !strings.Contains(string(b), c.want) {
			t.Errorf("%s %s %.80s: %d %s, want %d with %q", c.method, c.path, c.body, st, b, c.status, c.want)
		}
	}
	// A duplicate channel is a conflict.
	for i, want := range []int{201, 409} {
		st, _, b := call(t, "POST", ts.URL+"/api/v1/notifications/channels", admin, "application/json", []byte(`{"name":"dup","kind":"webhook","config":{"url":"https://x/"}}`))
		if st != want {
			t.Errorf("channel %d: %d %s, want %d", i, st, b, want)
		}
	}
}
