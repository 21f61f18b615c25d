package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/api"
)

// notAudited are the mutating routes that write no audit event, and why.
var notAudited = map[string]string{
	"POST /api/v1/agent/checkin": "an agent's inventory report: hosts show when they last reported, the audit trail is for people's changes",
	"POST /api/v1/agent/wait":    "an agent's long poll changes nothing",
	"POST /api/v1/agent/results": "an agent's task report: it lands in the task and the rollout's events",
}

// auditWalk calls every mutating route of the API once, successfully, in
// an order that makes each call possible, and checks that each writes an
// audit event with its actor. A route that the walk does not call fails
// the test, so that a new route comes with its audit event.
type auditWalk struct {
	t      *testing.T
	ts     *testServer
	tok    string // the admin's API token
	called map[string]bool
	lastID int64
	routes []api.RouteInfo
	// denied are callers that every mutating user route must refuse
	// (401 or 403) without changing anything or writing an audit event:
	// no credential, a viewer's token, an agent's credential.
	denied  []deniedCaller
	refused int // requests refused as expected
	// secrets are every password sent and every token or credential
	// received during the walk: none may appear in the server's log.
	secrets map[string]bool
}

var (
	secretToken    = regexp.MustCompile(`pw[a-z]_[A-Za-z0-9_-]{20,}`)
	secretPassword = regexp.MustCompile(`"password"\s*:\s*"([^"]+)"`)
)

// noteSecrets remembers the secrets in a request and its answer.
func (w *auditWalk) noteSecrets(req string, resp []byte) {
	if w.secrets == nil {
		w.secrets = map[string]bool{}
	}
	for _, m := range secretPassword.FindAllStringSubmatch(req, -1) {
		w.secrets[m[1]] = true
	}
	for _, s := range append(secretToken.FindAllString(req, -1), secretToken.FindAllString(string(resp), -1)...) {
		w.secrets[s] = true
	}
}

type deniedCaller struct{ name, token string }

// viewerMay are the mutating user routes a viewer may call.
var viewerMay = map[string]bool{
	"POST /api/v1/logout": true,
	"POST /api/v1/tokens": true, // their own API token, with their role
	// A report of a problem with a release's patches: the people who
	// suffer one are often no operators.
	"POST /api/v1/releases/{release}/feedback": true,
}

// ownedRoutes act on the caller's own objects: someone else's are not
// found (404) rather than forbidden.
var ownedRoutes = map[string]bool{
	"DELETE /api/v1/tokens/{id}": true,
}

// refuse sends the request as each denied caller and checks it is refused
// and leaves no audit event.
func (w *auditWalk) refuse(method, pattern, path, ctype, body string) {
	w.t.Helper()
	i := slices.IndexFunc(w.routes, func(r api.RouteInfo) bool { return r.Method == method && r.Path == pattern })
	if i < 0 || w.routes[i].Auth != "user" {
		return
	}
	for _, d := range w.denied {
		if d.name == "a viewer" && viewerMay[method+" "+pattern] {
			continue
		}
		st, _, b := call(w.t, method, w.ts.URL+path, d.token, ctype, []byte(body))
		if st != http.StatusUnauthorized && st != http.StatusForbidden && !(d.name == "a viewer" && ownedRoutes[method+" "+pattern] && st == http.StatusNotFound) {
			w.t.Errorf("%s %s as %s: %d %s; want 401 or 403", method, path, d.name, st, b)
		}
		w.refused++
		if e := w.newest(); e.ID != w.lastID {
			w.t.Errorf("%s %s as %s, refused, wrote audit event %+v", method, path, d.name, e)
			w.lastID = e.ID
		}
	}
}

// has reports whether the API has the route, for the steps of routes
// that are newer than some of the code the walk runs on.
func (w *auditWalk) has(method, pattern string) bool {
	return slices.ContainsFunc(w.routes, func(r api.RouteInfo) bool { return r.Method == method && r.Path == pattern })
}

func (w *auditWalk) newest() patchwave.AuditEvent {
	w.t.Helper()
	evs, err := w.ts.Admin.Audit(context.Background(), 0, 1)
	if err != nil || len(evs) == 0 {
		w.t.Fatalf("audit trail: %v %v", evs, err)
	}
	return evs[0]
}

// call sends one request to the route method+pattern at path, with the
// admin's token unless tok is given, and checks its audit event: an
// action starting with action, by actor.
func (w *auditWalk) call(method, pattern, path, ctype, body, action, actor string, tok ...string) []byte {
	w.t.Helper()
	token := w.tok
	if len(tok) > 0 {
		token = tok[0]
	}
	if ctype == "" && body != "" {
		ctype = "application/json"
	}
	w.refuse(method, pattern, path, ctype, body)
	st, _, b := call(w.t, method, w.ts.URL+path, token, ctype, []byte(body))
	w.noteSecrets(body+" "+token, b)
	if st >= 300 {
		w.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	w.called[method+" "+pattern] = true
	e := w.newest()
	if _, exempt := notAudited[method+" "+pattern]; exempt {
		if e.ID != w.lastID {
			w.t.Errorf("%s %s wrote audit event %+v, but is listed as not audited", method, path, e)
		}
		return b
	}
	if e.ID <= w.lastID || !strings.HasPrefix(e.Action, action) || e.Actor != actor || e.Object == "" || e.At.IsZero() {
		w.t.Errorf("%s %s: newest audit event %+v; want a new %s… by %s", method, path, e, action, actor)
	}
	w.lastID = e.ID
	return b
}

// walked are values of the objects the audit walk leaves behind.
type walked struct {
	ts                  *testServer
	token               string // the admin's
	host, release       string
	advisory, baseline  string
	exceptionID, taskID int64
	ticketID            int64
}

func TestEveryMutationIsAudited(t *testing.T) {
	t.Parallel()
	walkMutations(t)
}

// walkMutations runs the audit walk on a new server.
func walkMutations(t *testing.T) walked {
	ts := newDrivenServer(t, "")
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 8, 19, 0, 0, 0, time.UTC)} // Patch Tuesday, after the 18:00 release
	ts.Store().SetClock(clk.Now)
	w := &auditWalk{t: t, ts: ts, called: map[string]bool{}, routes: api.New(api.Config{}).Routes()}
	w.tok = login(t, ts.URL, "admin", adminPassword)
	if st, _, b := call(t, "POST", ts.URL+"/api/v1/users", w.tok, "application/json", []byte(`{"name":"vera","password":"password-vera","role":"viewer"}`)); st != http.StatusCreated {
		t.Fatalf("create a viewer: %d %s", st, b)
	}
	w.denied = []deniedCaller{{"nobody", ""}, {"a viewer", login(t, ts.URL, "vera", "password-vera")}}
	w.lastID = w.newest().ID
	id := func(b []byte) string {
		var v struct{ ID int64 }
		if err := json.Unmarshal(b, &v); err != nil || v.ID == 0 {
			t.Fatalf("no id in %s", b)
		}
		return fmt.Sprint(v.ID)
	}

	// Sessions and users.
	w.call("POST", "/api/v1/login", "/api/v1/login", "", `{"user":"admin","password":"`+adminPassword+`"}`, "user.login", "admin", "")
	w.call("POST", "/api/v1/users", "/api/v1/users", "", `{"name":"ann","password":"password-ann","role":"approver"}`, "user.create", "admin")
	w.call("PATCH", "/api/v1/users/{name}", "/api/v1/users/ann", "", `{"sites":["paris"]}`, "user.update", "admin")
	tokID := id(w.call("POST", "/api/v1/tokens", "/api/v1/tokens", "", `{"name":"ci"}`, "token.create", "admin"))
	w.call("DELETE", "/api/v1/tokens/{id}", "/api/v1/tokens/"+tokID, "", "", "token.revoke", "admin")

	// Hosts and enrollment.
	w.call("POST", "/api/v1/hosts/import", "/api/v1/hosts/import", "text/csv", "hostname,site\nfs-01,paris\ngone-01,paris\n", "host.import", "admin")
	w.call("PATCH", "/api/v1/hosts/{host}", "/api/v1/hosts/fs-01", "", `{"owner":"bob"}`, "host.update", "admin")
	w.call("DELETE", "/api/v1/hosts/{host}", "/api/v1/hosts/gone-01", "", "", "host.delete", "admin")
	var tok patchwave.EnrollToken
	json.Unmarshal(w.call("POST", "/api/v1/enroll-tokens", "/api/v1/enroll-tokens", "", `{"site":"paris","tier":"lab"}`, "enroll_token.create", "admin"), &tok)
	facts := patchwave.Facts{Hostname: "lab-01", OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12", Name: "Debian GNU/Linux 12 (bookworm)"}}
	enrollBody, _ := json.Marshal(patchwave.EnrollRequest{Token: tok.Token, Facts: facts})
	var enrolled patchwave.EnrollResponse
	json.Unmarshal(w.call("POST", "/api/v1/agent/enroll", "/api/v1/agent/enroll", "", string(enrollBody), "host.enroll", "enroll-token:"+tok.Prefix, ""), &enrolled)
	pkgs := patchwave.SortPackages([]patchwave.Package{{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"}})
	checkin, _ := json.Marshal(patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs})
	w.call("POST", "/api/v1/agent/checkin", "/api/v1/agent/checkin", "", string(checkin), "", "", enrolled.Credential)
	// From here on, an agent's credential is refused on people's routes too.
	w.denied = append(w.denied, deniedCaller{"an agent", enrolled.Credential})
	w.call("DELETE", "/api/v1/enroll-tokens/{id}", fmt.Sprintf("/api/v1/enroll-tokens/%d", tok.ID), "", "", "enroll_token.revoke", "admin")

	// Feeds.
	src := feedSource(t, osvRecord("DSA-5764-1", "2026-12-08T00:00:00Z", "openssl", "3.0.15-1~deb12u1", "CVE-2024-5535"))
	w.call("POST", "/api/v1/feeds", "/api/v1/feeds", "", `{"name":"debian","kind":"osv","url":"`+src+`","interval":"6h"}`, "feed.", "admin")
	w.call("POST", "/api/v1/feeds/{name}/sync", "/api/v1/feeds/debian/sync", "", "", "feed.", "admin")
	w.call("POST", "/api/v1/feeds/{name}/import", "/api/v1/feeds/extra/import?kind=osv", "application/octet-stream",
		osvRecord("DSA-9999-1", "2026-12-08T00:00:00Z", "zlib", "1:1.3"), "feed.import", "admin")
	w.call("DELETE", "/api/v1/feeds/{name}", "/api/v1/feeds/extra", "", "", "feed.delete", "admin")

	// Policy.
	_, _, sla := call(t, "GET", ts.URL+"/api/v1/sla", w.tok, "", nil)
	w.call("PUT", "/api/v1/sla", "/api/v1/sla", "", string(sla), "sla.", "admin")
	w.call("POST", "/api/v1/baselines", "/api/v1/baselines", "", `{"name":"all","rules":[{"min_severity":"low"}]}`, "baseline.", "admin")
	w.call("PUT", "/api/v1/baselines/{name}", "/api/v1/baselines/all", "", `{"name":"all","rules":[{"min_severity":"low"}]}`, "baseline.", "admin")
	w.call("POST", "/api/v1/baselines", "/api/v1/baselines", "", `{"name":"spare","rules":[{"min_severity":"high"}]}`, "baseline.", "admin")
	w.call("DELETE", "/api/v1/baselines/{name}", "/api/v1/baselines/spare", "", "", "baseline.", "admin")
	exception := func(just string) string {
		return id(w.call("POST", "/api/v1/exceptions", "/api/v1/exceptions", "",
			`{"kind":"restriction","host":"lab-01","package":"zlib1g","justification":"`+just+`","expires_at":"2027-03-01T00:00:00Z"}`, "exception.create", "admin"))
	}
	for verb, e := range map[string]string{"approve": exception("zlib waits for the lab"), "reject": exception("zlib waits for the shop")} {
		w.call("POST", "/api/v1/exceptions/{id}/"+verb, "/api/v1/exceptions/"+e+"/"+verb, "", `{"comment":"ok"}`, "exception.", "admin")
	}
	lastException := exception("zlib waits for the release")
	w.call("POST", "/api/v1/exceptions/{id}/revoke", "/api/v1/exceptions/"+lastException+"/revoke", "", `{"comment":"done"}`, "exception.", "admin")
	sb := id(w.call("POST", "/api/v1/service-baselines", "/api/v1/service-baselines", "", `{"name":"web","selector":"tag=web","expected":["nginx*"]}`, "service-baseline.", "admin"))
	_ = sb
	w.call("DELETE", "/api/v1/service-baselines/{name}", "/api/v1/service-baselines/web", "", "", "service-baseline.", "admin")
	rule := id(w.call("POST", "/api/v1/tier-rules", "/api/v1/tier-rules", "", `{"selector":"tag=shop","tier":"mission-critical"}`, "tier-rule.", "admin"))
	w.call("DELETE", "/api/v1/tier-rules/{name}", "/api/v1/tier-rules/"+rule, "", "", "tier-rule.", "admin")

	// Planning and rollouts.
	_, _, cad := call(t, "GET", ts.URL+"/api/v1/cadence", w.tok, "", nil)
	w.call("PUT", "/api/v1/cadence", "/api/v1/cadence", "", string(cad), "cadence.", "admin")
	w.call("POST", "/api/v1/windows", "/api/v1/windows", "", `{"name":"nightly","rrule":"FREQ=DAILY","start":"2026-01-01T20:00","time_zone":"UTC","duration":"4h"}`, "window.create", "admin")
	w.call("POST", "/api/v1/windows", "/api/v1/windows", "", `{"name":"spare","rrule":"FREQ=WEEKLY","start":"2026-01-01T20:00","time_zone":"UTC","duration":"1h"}`, "window.create", "admin")
	w.call("DELETE", "/api/v1/windows/{name}", "/api/v1/windows/spare", "", "", "window.", "admin")
	w.call("PUT", "/api/v1/waves", "/api/v1/waves", "",
		`{"waves":[{"order":0,"name":"lab","start_offset":"0d","max_concurrent_pct":100,"gate_success_pct":100,"gate_min_hosts":1,"approvers":["admin"],"deadline":"3d"}]}`, "waves.", "admin")
	waitAssessed(t, ts)
	var rel struct{ Name string }
	json.Unmarshal(w.call("POST", "/api/v1/releases", "/api/v1/releases", "", `{}`, "release.create", "admin"), &rel)
	ro := "/api/v1/rollouts/" + url.PathEscape(rel.Name)
	w.call("POST", "/api/v1/rollouts/{release}/approvals", ro+"/approvals", "", `{"wave":0,"stage":"promote","decision":"approve","reason":"lab ok"}`, "rollout.approve", "admin")
	w.call("POST", "/api/v1/rollouts/{release}/pause", ro+"/pause", "", `{"reason":"wait"}`, "rollout.pause", "admin")
	w.call("POST", "/api/v1/rollouts/{release}/resume", ro+"/resume", "", `{"reason":"go"}`, "rollout.resume", "admin")
	for range 3 { // the lab wave starts in the window
		if err := ts.Driver().Tick(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
	}
	if w.has("POST", "/api/v1/hosts/{host}/tasks") {
		w.call("POST", "/api/v1/hosts/{host}/tasks", "/api/v1/hosts/lab-01/tasks", "", `{"kind":"scan","reason":"check"}`, "task.create", "admin")
	}
	if w.has("POST", "/api/v1/agent/wait") {
		w.call("POST", "/api/v1/agent/wait", "/api/v1/agent/wait", "", `{"timeout":1}`, "", "", enrolled.Credential)
	}
	hashes, _ := json.Marshal(patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs)})
	var due patchwave.CheckinResponse
	json.Unmarshal(w.call("POST", "/api/v1/agent/checkin", "/api/v1/agent/checkin", "", string(hashes), "", "", enrolled.Credential), &due)
	if len(due.Tasks) == 0 {
		t.Fatalf("no task due on lab-01: %+v", due)
	}
	results, _ := json.Marshal(patchwave.TaskResults{Results: []patchwave.TaskResult{{TaskID: due.Tasks[0].ID, Attempt: due.Tasks[0].Attempt, State: patchwave.TaskRunning}}})
	w.call("POST", "/api/v1/agent/results", "/api/v1/agent/results", "", string(results), "", "", enrolled.Credential)
	w.call("POST", "/api/v1/rollouts/{release}/promote", ro+"/promote", "", `{"wave":0,"reason":"the lab is fine"}`, "rollout.promote", "admin")
	w.call("POST", "/api/v1/rollouts/{release}/retry", ro+"/retry", "", `{}`, "rollout.retry", "admin")
	w.call("POST", "/api/v1/rollouts/{release}/halt", ro+"/halt", "", `{"reason":"stop"}`, "rollout.halt", "admin")
	w.call("POST", "/api/v1/rollouts/{release}/abort", ro+"/abort", "", `{"reason":"enough"}`, "rollout.abort", "admin")
	w.call("POST", "/api/v1/releases/{release}/evidence", "/api/v1/releases/"+url.PathEscape(rel.Name)+"/evidence", "", "", "evidence.export", "admin")

	// Follow-up: a failed task opens a ticket; people work it; channels,
	// guides and the ticket policy.
	var ticketID int64
	if w.has("POST", "/api/v1/tickets/{id}/ack") {
		var scan *patchwave.AgentTask
		for i := range due.Tasks {
			if due.Tasks[i].Kind == patchwave.TaskScan {
				scan = &due.Tasks[i]
			}
		}
		if scan == nil {
			t.Fatalf("no scan task due on lab-01: %+v", due.Tasks)
		}
		failed, _ := json.Marshal(patchwave.TaskResults{Results: []patchwave.TaskResult{{TaskID: scan.ID, Attempt: scan.Attempt, State: patchwave.TaskFailed,
			Error: "scan failed", Output: "E: Could not get lock /var/lib/dpkg/lock-frontend"}}})
		w.call("POST", "/api/v1/agent/results", "/api/v1/agent/results", "", string(failed), "", "", enrolled.Credential)
		if err := ts.Follow().Tick(ctx); err != nil {
			t.Fatal(err)
		}
		_, _, lb := call(t, "GET", ts.URL+"/api/v1/tickets", w.tok, "", nil)
		var tl struct{ Tickets []struct{ ID int64 } }
		if json.Unmarshal(lb, &tl); len(tl.Tickets) != 1 {
			t.Fatalf("tickets after a failed scan: %s", lb)
		}
		ticketID = tl.Tickets[0].ID
		tk := fmt.Sprintf("/api/v1/tickets/%d", ticketID)
		w.call("POST", "/api/v1/notifications/channels", "/api/v1/notifications/channels", "", `{"name":"hook","kind":"webhook","config":{"url":"http://127.0.0.1:1/hook"}}`, "channel.create", "admin")
		w.call("POST", "/api/v1/notifications/channels", "/api/v1/notifications/channels", "", `{"name":"spare","kind":"slack","config":{"url":"https://hooks.slack.example/x"}}`, "channel.create", "admin")
		w.call("DELETE", "/api/v1/notifications/channels/{name}", "/api/v1/notifications/channels/spare", "", "", "channel.delete", "admin")
		w.call("POST", "/api/v1/tickets/{id}/comments", tk+"/comments", "", `{"comment":"looking"}`, "ticket.comment", "admin")
		w.call("POST", "/api/v1/tickets/{id}/ack", tk+"/ack", "", `{}`, "ticket.acknowledged", "admin")
		w.call("POST", "/api/v1/tickets/{id}/resolve", tk+"/resolve", "", `{"comment":"lock freed"}`, "ticket.resolved", "admin")
		w.call("POST", "/api/v1/tickets/{id}/reopen", tk+"/reopen", "", `{}`, "ticket.open", "admin")
		w.call("POST", "/api/v1/tickets/{id}/wont-fix", tk+"/wont-fix", "", `{"comment":"lab host, retired"}`, "ticket.wont-fix", "admin")
		w.call("PUT", "/api/v1/ticket-policy", "/api/v1/ticket-policy", "", `{"routes":[{"site":"paris","queue":"paris-ops"}],"escalations":[{"severity":"critical","after":"4h","to":"on-call"}]}`, "ticket-policy.put", "admin")
		w.call("POST", "/api/v1/guides", "/api/v1/guides", "", `{"name":"our-mirror","title":"Our mirror is down","pattern":"mirror\\.internal","steps":["call the mirror team"]}`, "guide.create", "admin")
		w.call("DELETE", "/api/v1/guides/{name}", "/api/v1/guides/our-mirror", "", "", "guide.delete", "admin")
		var fb [2]struct {
			TicketID int64 `json:"ticket_id"`
		}
		for i := range fb {
			json.Unmarshal(w.call("POST", "/api/v1/releases/{release}/feedback", "/api/v1/releases/"+url.PathEscape(rel.Name)+"/feedback", "",
				`{"host":"lab-01","message":"the app is slow since the update","ticket":true}`, "feedback.report", "admin"), &fb[i])
		}
		if fb[0].TicketID == 0 || fb[1].TicketID != fb[0].TicketID || fb[0].TicketID == ticketID {
			t.Errorf("problem reports: tickets %+v, want one user-report ticket apart from %d", fb, ticketID)
		}
	}

	// Last, the host's agent.
	w.call("POST", "/api/v1/hosts/{host}/revoke", "/api/v1/hosts/lab-01/revoke", "", "", "host.revoke", "admin")

	for _, rt := range w.routes {
		key := rt.Method + " " + rt.Path
		if rt.Mutating() && !w.called[key] {
			t.Errorf("%s is not called by the audit walk: add it, with the audit event it writes", key)
		}
	}
	for key := range notAudited {
		method, pattern, _ := strings.Cut(key, " ")
		if w.has(method, pattern) && !w.called[key] {
			t.Errorf("%s is listed as not audited but is not in the route table or not called", key)
		}
	}
	if err := ts.Store().VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	t.Logf("%d requests by callers without the right refused", w.refused)
	// No password, token or credential of the walk is in the log, at
	// debug level.
	log := ts.Log.String()
	for s := range w.secrets {
		if strings.Contains(log, s) {
			t.Errorf("the server's log holds a secret of the walk: %.12s…", s)
		}
	}
	if len(w.secrets) < 5 || !strings.Contains(log, "level=DEBUG") && !strings.Contains(log, "level=INFO") {
		t.Errorf("the walk saw %d secrets and the log has %d bytes: the check checks nothing", len(w.secrets), len(log))
	}
	// Nor in the audit trail.
	evs, err := ts.Admin.Audit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	trail, _ := json.Marshal(evs)
	for s := range w.secrets {
		if strings.Contains(string(trail), s) {
			t.Errorf("the audit trail holds a secret of the walk: %.12s…", s)
		}
	}
	t.Logf("%d secrets, none in %d bytes of log nor in %d audit events", len(w.secrets), len(log), len(evs))
	if w.refused < len(w.called) {
		t.Errorf("only %d requests refused for %d routes called", w.refused, len(w.called))
	}
	exID, _ := strconv.ParseInt(lastException, 10, 64)
	return walked{ts: ts, token: w.tok, host: "lab-01", release: rel.Name, advisory: "DSA-5764-1", baseline: "all",
		exceptionID: exID, taskID: due.Tasks[0].ID, ticketID: ticketID}
}

// TestWebLogoutIsAudited: signing out of the web UI is in the audit trail.
func TestWebLogoutIsAudited(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	session := webSession(t, ts.URL, "admin", adminPassword)
	if resp := webPost(t, ts.URL, session, "/logout", url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("logout: %s", resp.Status)
	}
	evs, err := ts.Admin.Audit(context.Background(), 0, 1)
	if err != nil || len(evs) == 0 || evs[0].Action != "user.logout" || evs[0].Actor != "admin" || !strings.Contains(evs[0].Detail, "web") {
		t.Fatalf("newest audit event %+v %v", evs, err)
	}
	// The session is over: signing out again writes nothing more.
	webPost(t, ts.URL, session, "/logout", url.Values{})
	if again, _ := ts.Admin.Audit(context.Background(), 0, 1); again[0].ID != evs[0].ID {
		t.Errorf("a second logout of an ended session wrote %+v", again[0])
	}
}

// feedSource serves an all.zip of OSV records over HTTP and returns its URL.
func feedSource(t *testing.T, records ...string) string {
	files := map[string]string{}
	for i, r := range records {
		files[fmt.Sprintf("r%d.json", i)] = r
	}
	body := zipOf(t, files)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	t.Cleanup(src.Close)
	return src.URL + "/all.zip"
}
