package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteHTML writes r as a standalone HTML page (no scripts, no external
// files) with inline SVG charts: the compliance trend, the tier × severity
// heat map and the distribution of time to patch.
func (r Report) WriteHTML(w io.Writer) error {
	if err := pageTmpl.Execute(w, r); err != nil {
		return fmt.Errorf("report html: %w", err)
	}
	return nil
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day":     func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"trend":   func(r Report) template.HTML { return TrendSVG(r.Trend) },
	"heatmap": func(m Metrics) template.HTML { return HeatmapSVG(m.Matrix) },
	"hist":    func(d Durations) template.HTML { return HistogramSVG(d) },
	"labels":  BucketLabels,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.def{color:#555;font-size:12px}h2{margin-top:1.6em}
</style></head><body>
<h1>{{.Title}}</h1>
{{range .Notes}}<p class="def">{{.}}</p>
{{end}}{{with .Metrics}}<p>As of {{ts .AsOf}}; data as of {{ts .DataAsOf}}{{if not .From.IsZero}}; period {{ts .From}} to {{ts .To}}{{end}}.</p>
<h2>Summary</h2>
<table><tr><th>Metric</th><th class="num">%</th><th class="num">Numerator</th><th class="num">Denominator</th><th>Definition</th></tr>
{{range $q := $.Ratios}}<tr><td>{{$q.Name}}</td><td class="num">{{$q.Percent}}</td><td class="num">{{$q.Numerator}}</td><td class="num">{{$q.Denominator}}</td><td class="def">{{$q.Definition}}</td></tr>
{{end}}</table>
<p>Hosts compliant with exceptions: {{.CompliantWithExceptions}} (counted as compliant, never removed from the denominator). Hosts not assessed recently: {{.UnknownHosts}}.</p>
<h2>Compliance trend</h2>{{trend $}}
{{with $.Previous}}<p>Previous month ({{.Day}}): {{.Percent}}% of {{.Hosts}} hosts.</p>{{end}}
<h2>Open findings by tier and severity</h2>{{heatmap .}}
<h2>Time to patch</h2>{{hist .TimeToPatch}}
<p>{{.TimeToPatch.Count}} findings fixed; mean {{.TimeToPatch.MeanDays}} days, median {{.TimeToPatch.MedianDays}} days. <span class="def">{{.TimeToPatch.Definition}}</span></p>
<p>Open findings: {{.OpenAge.Count}}; mean age {{.OpenAge.MeanDays}} days, median {{.OpenAge.MedianDays}}, oldest {{.OpenAge.MaxDays}}.</p>
<h2>Compliance by site, tier and OS</h2>
<table><tr><th>By</th><th>Value</th><th class="num">Hosts</th><th class="num">Compliant</th><th class="num">With exceptions</th><th class="num">%</th></tr>
{{range $.Groups}}<tr><td>{{.By}}</td><td>{{.Value}}</td><td class="num">{{.Hosts}}</td><td class="num">{{.Compliant}}</td><td class="num">{{.CompliantWithExceptions}}</td><td class="num">{{.Percent}}</td></tr>
{{end}}</table>
<h2>SLA</h2><p>{{.SLA.Breaches}} open breaches, {{.SLA.AtRisk}} at risk.</p>
{{if .SLA.BreachList}}<table><tr><th>Host</th><th>Owner</th><th>Package</th><th>Severity</th><th>Due</th><th class="num">Days overdue</th><th>KEV</th><th>Excepted</th></tr>
{{range .SLA.BreachList}}<tr><td>{{.Host}}</td><td>{{.Owner}}</td><td>{{.Package}}</td><td>{{.Severity}}</td><td>{{day .Due}}</td><td class="num">{{.DaysOverdue}}</td><td>{{if .KEV}}yes{{end}}</td><td>{{if .Excepted}}yes{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .SLA.AtRiskList}}<h3>At risk</h3><table><tr><th>Host</th><th>Owner</th><th>Package</th><th>Severity</th><th>Due</th><th class="num">Days left</th></tr>
{{range .SLA.AtRiskList}}<tr><td>{{.Host}}</td><td>{{.Owner}}</td><td>{{.Package}}</td><td>{{.Severity}}</td><td>{{day .Due}}</td><td class="num">{{.DaysOverdue}}</td></tr>
{{end}}</table>{{end}}
<h2>Known exploited vulnerabilities</h2><p>{{.KEV.Open}} open, {{.KEV.PastDue}} past the KEV due date, {{.KEV.Ransomware}} used in ransomware, on {{.KEV.Hosts}} hosts.</p>
<h2>Installs</h2>
<table><tr><th class="num">Wave</th><th>OS</th><th class="num">Tasks</th><th class="num">First pass</th><th class="num">Failed</th><th class="num">%</th></tr>
{{range .Installs}}<tr><td class="num">{{.Wave}}</td><td>{{.OS}}</td><td class="num">{{.Tasks}}</td><td class="num">{{.FirstPass}}</td><td class="num">{{.Failed}}</td><td class="num">{{.Percent}}</td></tr>
{{end}}</table>
{{if .Failures}}<table><tr><th>Failure reason</th><th class="num">Tasks</th></tr>{{range .Failures}}<tr><td>{{.Label}}</td><td class="num">{{.Count}}</td></tr>{{end}}</table>{{end}}
<p>Rollbacks: {{.Rollbacks}}. Pending reboots: {{len .Pending}}{{if .Pending}} ({{range $i, $h := .Pending}}{{if $i}}, {{end}}{{$h}}{{end}}){{end}}.</p>
<h2>Exceptions</h2><p>{{.Exceptions.Active}} active, {{.Exceptions.Expiring}} expiring soon, {{.Exceptions.Expired}} expired, {{.Exceptions.Pending}} pending; {{.Exceptions.ExceptedFindings}} open findings excepted. <span class="def">{{.Exceptions.Definition}}</span></p>
{{if .Exceptions.ByOwner}}<table><tr><th>Owner</th><th class="num">Active</th></tr>{{range .Exceptions.ByOwner}}<tr><td>{{.Label}}</td><td class="num">{{.Count}}</td></tr>{{end}}</table>{{end}}
<h2>End-of-life systems</h2><p>{{len .EndOfLife}}{{if .EndOfLife}}: {{range $i, $h := .EndOfLife}}{{if $i}}, {{end}}{{$h}}{{end}}{{end}}</p>
{{end}}
{{with .Release}}<h2>Release {{.Name}}</h2><p>Cycle {{.Cycle}}, {{.Kind}}, {{.State}}, released {{ts .ReleasedAt}}, {{.Hosts}} hosts.</p>
<table><tr><th class="num">Wave</th><th>State</th><th class="num">Hosts</th><th>Started</th><th>Promoted</th></tr>
{{range .Waves}}<tr><td class="num">{{.Wave}}</td><td>{{.State}}</td><td class="num">{{.Hosts}}</td><td>{{with .StartedAt}}{{ts .}}{{end}}</td><td>{{with .PromotedAt}}{{ts .}}{{end}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

// Ratios lists the report's ratios in the order pages show them.
func (r Report) Ratios() []Ratio {
	m := r.Metrics
	return []Ratio{m.Coverage, m.Freshness, m.HostCompliance, m.PatchCompliance, m.SLA.RemediatedInSLA, m.FirstPass, m.EndOfLifeAll}
}

// Groups lists the compliance groups by site, tier and OS.
func (r Report) Groups() []Group {
	m := r.Metrics
	return append(append(append([]Group{}, m.BySite...), m.ByTier...), m.ByOS...)
}

// TrendSVG draws host compliance per day as a line from 0 to 100%.
func TrendSVG(sns []Snapshot) template.HTML {
	const w, h, pad = 600, 200, 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="compliance trend">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`, pad, 10, w-2*pad, h-pad-10)
	for _, p := range []int{0, 50, 100} {
		y := float64(h-pad) - float64(p)/100*float64(h-pad-10)
		fmt.Fprintf(&b, `<text x="2" y="%.1f" font-size="10">%d%%</text>`, y+3, p)
	}
	if len(sns) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12">no snapshots in this period</text>`, pad+10, h/2)
	} else {
		step := float64(w-2*pad) / float64(max(1, len(sns)-1))
		var pts []string
		for i, s := range sns {
			x := float64(pad) + float64(i)*step
			if len(sns) == 1 {
				x = float64(w) / 2
			}
			y := float64(h-pad) - s.Percent()/100*float64(h-pad-10)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="#2a6"><title>%s: %.2f%%</title></circle>`, x, y, html.EscapeString(s.Day), s.Percent())
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#2a6" stroke-width="2" points="%s"/>`, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">%s</text>`, pad, h-10, html.EscapeString(sns[0].Day))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">%s</text>`, w-pad, h-10, html.EscapeString(sns[len(sns)-1].Day))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// HeatmapSVG draws the tier × severity matrix, darker for more open
// findings, with the count in each cell.
func HeatmapSVG(cells []Cell) template.HTML {
	var tiers, sevs []string
	seen := map[string]bool{}
	peak := 0
	for _, c := range cells {
		if !seen["t"+string(c.Tier)] {
			seen["t"+string(c.Tier)] = true
			tiers = append(tiers, string(c.Tier))
		}
		if !seen["s"+string(c.Severity)] {
			seen["s"+string(c.Severity)] = true
			sevs = append(sevs, string(c.Severity))
		}
		peak = max(peak, c.Open)
	}
	const cw, ch, left, top = 80, 28, 150, 20
	w, h := left+cw*len(sevs)+10, top+ch*len(tiers)+10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="open findings by tier and severity">`, w, h, w, h)
	for j, s := range sevs {
		fmt.Fprintf(&b, `<text x="%d" y="14" font-size="11" text-anchor="middle">%s</text>`, left+cw*j+cw/2, html.EscapeString(s))
	}
	for i, t := range tiers {
		fmt.Fprintf(&b, `<text x="4" y="%d" font-size="11">%s</text>`, top+ch*i+18, html.EscapeString(t))
	}
	for _, c := range cells {
		i, j := index(tiers, string(c.Tier)), index(sevs, string(c.Severity))
		shade := 0.0
		if peak > 0 {
			shade = float64(c.Open) / float64(peak)
		}
		// From white to a strong red.
		red, green := 255, int(255-shade*200)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="rgb(%d,%d,%d)" stroke="#ddd"><title>%s × %s: %d open, %d excepted, %d breached</title></rect>`,
			left+cw*j, top+ch*i, cw, ch, red, green, green, html.EscapeString(string(c.Tier)), html.EscapeString(string(c.Severity)), c.Open, c.Excepted, c.Breached)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle">%d</text>`, left+cw*j+cw/2, top+ch*i+18, c.Open)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func index(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// HistogramSVG draws a distribution's buckets as bars.
func HistogramSVG(d Durations) template.HTML {
	labels := BucketLabels()
	const bw, gap, h, base = 70, 10, 160, 130
	w := (bw+gap)*len(d.Buckets) + gap
	peak := 0
	for _, v := range d.Buckets {
		peak = max(peak, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s distribution">`, w, h, w, h, html.EscapeString(d.Name))
	for i, v := range d.Buckets {
		bh := 0.0
		if peak > 0 {
			bh = float64(v) / float64(peak) * 110
		}
		x := gap + i*(bw+gap)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#47a"><title>%s: %d</title></rect>`, x, base-bh, bw, bh, labels[i], v)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="middle">%d</text>`, x+bw/2, base-bh-3, v)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="middle">%s</text>`, x+bw/2, base+15, labels[i])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
