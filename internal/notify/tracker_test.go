package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/patchwave/patchwave/internal/ticket"
)

// tracker plays a Jira or ServiceNow instance: it checks what the real
// one requires (the path, basic authentication, JSON with the required
// fields) and answers as it does (201 with the new key or record).
type tracker struct {
	kind, user, password string
	mu                   sync.Mutex
	created              []map[string]any
}

func (tr *tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != tr.user || p != tr.password {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errorMessages":["You do not have the permission to see the specified issue."]}`)
		return
	}
	want := map[string]string{Jira: "/rest/api/2/issue", ServiceNow: "/api/now/table/incident"}[tr.kind]
	if r.Method != "POST" || r.URL.Path != want || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return
	}
	switch tr.kind {
	case Jira:
		f, _ := body["fields"].(map[string]any)
		proj, _ := f["project"].(map[string]any)
		it, _ := f["issuetype"].(map[string]any)
		if f == nil || proj["key"] == nil || it["name"] == nil || f["summary"] == nil || f["summary"] == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errors":{"project":"project is required","summary":"You must specify a summary of the issue."}}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"10000","key":"OPS-1","self":"https://example.atlassian.net/rest/api/2/issue/10000"}`)
	case ServiceNow:
		if body["short_description"] == nil || body["short_description"] == "" {
			http.Error(w, `{"error":{"message":"short_description required"}}`, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"result":{"number":"INC0010001","sys_id":"abc"}}`)
	}
	tr.mu.Lock()
	tr.created = append(tr.created, body)
	tr.mu.Unlock()
}

func TestTrackers(t *testing.T) {
	ctx := context.Background()
	s := &Sender{}
	for _, kind := range []string{Jira, ServiceNow} {
		t.Run(kind, func(t *testing.T) {
			tr := &tracker{kind: kind, user: "patchwave@example.com", password: "api-token"}
			srv := httptest.NewServer(tr)
			defer srv.Close()
			cfg := Config{URL: srv.URL + "/", Username: tr.user, Password: tr.password}
			if kind == Jira {
				cfg.Project = "OPS"
			}
			if err := Validate("tracker", kind, cfg); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if err := s.Send(ctx, kind, cfg, 1, payload(t)); err != nil {
				t.Fatalf("send: %v", err)
			}
			// Only tickets opened (or reopened) become issues.
			var n ticket.Notice
			json.Unmarshal(payload(t), &n)
			n.Event = "ticket.escalated"
			esc, _ := json.Marshal(n)
			if err := s.Send(ctx, kind, cfg, 2, esc); err != nil {
				t.Fatalf("send an escalation: %v", err)
			}
			if len(tr.created) != 1 {
				t.Fatalf("created %d, want 1", len(tr.created))
			}
			b, _ := json.Marshal(tr.created[0])
			for _, want := range []string{"erp01", "patchwave-ticket-7"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s body lacks %q: %s", kind, want, b)
				}
			}
			// A wrong token: the tracker's 401, to retry and report.
			bad := cfg
			bad.Password = "wrong"
			if err := s.Send(ctx, kind, bad, 3, payload(t)); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("a wrong token: %v, want the 401 without the token", err)
			}
		})
	}
	for _, tc := range []struct {
		kind string
		c    Config
		want string
	}{
		{Jira, Config{URL: "https://x.atlassian.net", Username: "u", Password: "p"}, "project key"},
		{Jira, Config{URL: "https://x.atlassian.net", Username: "u", Password: "p", Project: "ops"}, "project key"},
		{Jira, Config{URL: "https://x.atlassian.net", Project: "OPS"}, "needs a username and a password"},
		{Jira, Config{URL: "ftp://x", Username: "u", Password: "p", Project: "OPS"}, "refused"},
		{Jira, Config{URL: "https://x", Username: "u", Password: "p", Project: "OPS", Secret: "s"}, "nothing else"},
		{ServiceNow, Config{URL: "https://x.service-now.com", Username: "u", Password: "p", Project: "OPS"}, "project goes with jira"},
		{ServiceNow, Config{URL: "https://x.service-now.com", Username: "u", Password: "p\r\nX: y"}, "control characters"},
		{ServiceNow, Config{URL: "https://x.service-now.com", Username: "u", Password: "p", IssueType: "Bug"}, "for jira channels"},
	} {
		if err := Validate("t", tc.kind, tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s, %+v) = %v, want %q", tc.kind, tc.c, err, tc.want)
		}
	}
}
