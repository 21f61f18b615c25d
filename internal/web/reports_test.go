package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
)

// ComplianceReport serves a small computed report, or refuses a month
// that has not begun, as the server does.
func (b *fakeBackend) ComplianceReport(_ context.Context, month string) (report.Report, error) {
	if month == "" {
		month = "2026-11"
	}
	if month > "2026-12" {
		return report.Report{}, patchwave.Errorf(patchwave.EInvalid, "month %s has not begun yet", month)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	due := now.AddDate(0, 0, -3)
	m := report.Compute(report.Input{AsOf: now,
		Hosts: []report.Host{{ID: 1, Hostname: "web-<01>", Owner: "ann", Tier: patchwave.TierLab, Managed: true, LastSeen: &now, AssessedAt: &now}},
		Findings: []report.Finding{{HostID: 1, Package: "openssl", Severity: patchwave.SeverityHigh, State: patchwave.FindingMissing,
			Required: true, FirstSeen: now.AddDate(0, 0, -20), Due: &due}}})
	return report.Report{Kind: report.KindCompliance, Title: "Compliance report " + month, Period: month, Metrics: m,
		Trend: []report.Snapshot{{Day: month + "-01", Hosts: 1}}}, nil
}

func TestReportsPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/reports?month=2026-11", nil, true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{"Compliance report 2026-11", "host compliance", "0.00", "<svg", "web-&lt;01&gt;", "ann",
		`href="/api/v1/reports/compliance?format=csv&amp;month=2026-11"`, `href="/reports?month=2026-10"`, `aria-current="page">Reports`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "web-<01>") {
		t.Error("a host name is not escaped")
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/reports?month=2026-13", http.StatusBadRequest, "must look like 2026-11"},
		{"/reports?month=" + strings.Repeat("9", 500), http.StatusBadRequest, "must look like 2026-11"},
		{"/reports?month=2999-01", http.StatusBadRequest, "has not begun"},
	} {
		resp, body := ui.do(t, "GET", c.path, nil, true)
		if resp.StatusCode != c.code || !strings.Contains(body, c.want) {
			t.Errorf("GET %.60s: %d, want %d with %q", c.path, resp.StatusCode, c.code, c.want)
		}
	}
	if resp, _ := ui.do(t, "GET", "/reports", nil, false); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d", resp.StatusCode)
	}
}
