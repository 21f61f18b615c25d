package web

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
)

// reportsPage is the compliance dashboard: the month's headline figures
// with their definitions, the charts, and links to the exports.
type reportsPage struct {
	layout
	R       report.Report
	Month   string
	Prev    string // the month before, for the link back
	Trend   template.HTML
	Heatmap template.HTML
	Hist    template.HTML
	Exports []exportLink
}

type exportLink struct{ Label, URL string }

func (h *Handler) getReports(w http.ResponseWriter, r *http.Request) error {
	month := r.URL.Query().Get("month")
	if month != "" {
		if _, _, err := report.ParseMonth(month); err != nil {
			return patchwave.Errorf(patchwave.EInvalid, "The month must look like 2026-11, not %q.", truncate(month, 40))
		}
	}
	rep, err := h.b.ComplianceReport(r.Context(), month)
	if err != nil {
		return err
	}
	from, _, _ := report.ParseMonth(rep.Period)
	p := &reportsPage{layout: layout{Title: rep.Title, User: currentUser(r), Nav: "reports"}, R: rep, Month: rep.Period,
		Prev: from.AddDate(0, -1, 0).Format("2006-01"), Trend: report.TrendSVG(rep.Trend), Heatmap: report.HeatmapSVG(rep.Metrics.Matrix),
		Hist: report.HistogramSVG(rep.Metrics.TimeToPatch)}
	for _, f := range []struct{ label, format string }{{"CSV", "csv"}, {"PDF", "pdf"}, {"HTML page", "html"}, {"JSON", "json"}} {
		v := url.Values{"month": {rep.Period}, "format": {f.format}}
		p.Exports = append(p.Exports, exportLink{f.label, "/api/v1/reports/compliance?" + v.Encode()})
	}
	h.render(w, r, http.StatusOK, "reports", p)
	return nil
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
