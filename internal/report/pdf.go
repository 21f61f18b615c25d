package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// WritePDF writes r as a PDF document, built here with the standard
// library: A4 pages of text in the PDF base font Helvetica (no fonts
// embedded) and bar charts drawn as filled rectangles. Text outside
// Latin-1 is replaced with '?', as the base fonts cannot show it.
func (r Report) WritePDF(w io.Writer) error {
	p := &pdfDoc{}
	p.newPage()
	m := r.Metrics
	p.text(16, true, r.Title)
	p.text(9, false, fmt.Sprintf("As of %s; data as of %s.", pdfTime(m.AsOf), pdfTime(m.DataAsOf)))
	for _, n := range r.Notes {
		for len(n) > 150 {
			i := strings.LastIndexByte(n[:150], ' ')
			if i <= 0 {
				i = 150
			}
			p.text(7, false, n[:i])
			n = n[i:]
		}
		p.text(7, false, n)
	}
	p.gap(6)
	p.text(12, true, "Summary")
	for _, q := range r.Ratios() {
		p.text(10, false, fmt.Sprintf("%-28s %7.2f%%   %d of %d", q.Name, q.Percent, q.Numerator, q.Denominator))
		p.text(7, false, "    "+q.Definition)
	}
	p.text(10, false, fmt.Sprintf("Hosts compliant with exceptions: %d (never removed from the denominator). Not assessed recently: %d.",
		m.CompliantWithExceptions, m.UnknownHosts))
	p.gap(6)
	p.text(12, true, "Compliance trend (host compliance per day)")
	var labels []string
	var values []float64
	for _, s := range r.Trend {
		labels = append(labels, s.Day)
		values = append(values, s.Percent())
	}
	p.bars(labels, values, 100, "%")
	p.text(12, true, "Time to patch (days from first seen to fixed)")
	values = values[:0]
	for _, v := range m.TimeToPatch.Buckets {
		values = append(values, float64(v))
	}
	p.bars(BucketLabels(), values, 0, "")
	p.text(10, false, fmt.Sprintf("%d fixed; mean %.2f days, median %.2f days. Open findings: %d, median age %.2f days.",
		m.TimeToPatch.Count, m.TimeToPatch.MeanDays, m.TimeToPatch.MedianDays, m.OpenAge.Count, m.OpenAge.MedianDays))
	p.gap(6)
	p.text(12, true, "Open findings by tier and severity (open / excepted / breached)")
	for _, c := range m.Matrix {
		if c.Open > 0 {
			p.text(9, false, fmt.Sprintf("%-22s %-9s %6d / %d / %d", c.Tier, c.Severity, c.Open, c.Excepted, c.Breached))
		}
	}
	p.gap(6)
	p.text(12, true, "Compliance by site, tier and OS")
	for _, g := range r.Groups() {
		p.text(9, false, fmt.Sprintf("%-5s %-30s %6d hosts %6.2f%% compliant (%d with exceptions)", g.By, g.Value, g.Hosts, g.Percent, g.CompliantWithExceptions))
	}
	p.gap(6)
	p.text(12, true, fmt.Sprintf("SLA: %d open breaches, %d at risk", m.SLA.Breaches, m.SLA.AtRisk))
	for _, it := range m.SLA.BreachList {
		p.text(8, false, fmt.Sprintf("%-30s %-24s %-8s due %s  %d days overdue  owner %s", it.Host, it.Package, it.Severity, it.Due.Format(time.DateOnly), it.DaysOverdue, it.Owner))
	}
	p.gap(6)
	p.text(12, true, "Other figures")
	p.text(10, false, fmt.Sprintf("KEV: %d open, %d past due, %d ransomware, on %d hosts.", m.KEV.Open, m.KEV.PastDue, m.KEV.Ransomware, m.KEV.Hosts))
	p.text(10, false, fmt.Sprintf("Rollbacks: %d. Pending reboots: %d. End-of-life systems: %d.", m.Rollbacks, len(m.Pending), len(m.EndOfLife)))
	p.text(10, false, fmt.Sprintf("Exceptions: %d active, %d expiring, %d expired, %d pending; %d open findings excepted.",
		m.Exceptions.Active, m.Exceptions.Expiring, m.Exceptions.Expired, m.Exceptions.Pending, m.Exceptions.ExceptedFindings))
	for _, in := range m.Installs {
		p.text(9, false, fmt.Sprintf("Wave %d %-20s %d installs, %.2f%% first pass, %d failed", in.Wave, in.OS, in.Tasks, in.Percent, in.Failed))
	}
	for _, f := range m.Failures {
		p.text(8, false, fmt.Sprintf("  %d x %s", f.Count, f.Label))
	}
	if rel := r.Release; rel != nil {
		p.gap(6)
		p.text(12, true, fmt.Sprintf("Release %s (%s), %d hosts", rel.Name, rel.State, rel.Hosts))
		for _, wv := range rel.Waves {
			p.text(9, false, fmt.Sprintf("Wave %d: %s, %d hosts", wv.Wave, wv.State, wv.Hosts))
		}
	}
	_, err := w.Write(p.bytes())
	return err
}

func pdfTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// pdfDoc accumulates pages of drawing operators.
type pdfDoc struct {
	pages []*bytes.Buffer
	y     float64 // the next line's baseline, from the bottom
}

const (
	pdfW, pdfH = 595.0, 842.0 // A4 in points
	pdfMargin  = 50.0
)

func (p *pdfDoc) newPage() {
	p.pages = append(p.pages, &bytes.Buffer{})
	p.y = pdfH - pdfMargin
}

func (p *pdfDoc) cur() *bytes.Buffer { return p.pages[len(p.pages)-1] }

func (p *pdfDoc) need(h float64) {
	if p.y-h < pdfMargin {
		p.newPage()
	}
}

func (p *pdfDoc) gap(h float64) { p.y -= h }

// text writes one line, cut to fit the page width roughly.
func (p *pdfDoc) text(size float64, bold bool, s string) {
	p.need(size * 1.3)
	p.y -= size * 1.3
	font := "F1"
	if bold {
		font = "F2"
	}
	if max := int((pdfW - 2*pdfMargin) / (size * 0.5)); len(s) > max {
		s = s[:max]
	}
	fmt.Fprintf(p.cur(), "BT /%s %.1f Tf %.1f %.1f Td (%s) Tj ET\n", font, size, pdfMargin, p.y, pdfString(s))
}

// bars draws a bar chart of values (scaled to top, or to the largest
// value when top is 0), each bar labelled below.
func (p *pdfDoc) bars(labels []string, values []float64, top float64, unit string) {
	const h = 110.0
	p.need(h + 30)
	if len(values) == 0 {
		p.text(9, false, "(no data)")
		return
	}
	for _, v := range values {
		top = max(top, v)
	}
	if top == 0 {
		top = 1
	}
	base := p.y - h
	bw := (pdfW - 2*pdfMargin) / float64(len(values))
	b := p.cur()
	fmt.Fprintf(b, "0.8 g %.1f %.1f %.1f 0.5 re f\n", pdfMargin, base, pdfW-2*pdfMargin)
	for i, v := range values {
		x := pdfMargin + float64(i)*bw
		bh := v / top * (h - 15)
		fmt.Fprintf(b, "0.27 0.47 0.67 rg %.1f %.1f %.1f %.1f re f\n", x+bw*0.1, base, bw*0.8, bh)
		if len(values) <= 16 {
			fmt.Fprintf(b, "0 g BT /F1 7 Tf %.1f %.1f Td (%s) Tj ET\n", x+bw*0.1, base+bh+2, pdfString(fmt.Sprintf("%.4g%s", v, unit)))
		}
		if len(values) <= 16 || i == 0 || i == len(values)-1 {
			fmt.Fprintf(b, "0 g BT /F1 7 Tf %.1f %.1f Td (%s) Tj ET\n", x+bw*0.1, base-9, pdfString(labels[i]))
		}
	}
	b.WriteString("0 g\n")
	p.y = base - 16
}

// pdfString escapes s for a PDF literal string, keeping Latin-1 (the
// base fonts' WinAnsi encoding is close enough) and replacing the rest.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '×':
			b.WriteByte('x')
		case r == '…':
			b.WriteString("...")
		case r < ' ' || r == 0x7f:
			b.WriteByte(' ')
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// bytes assembles the document: catalog, page tree, fonts, pages and
// their content streams, the cross-reference table and the trailer.
func (p *pdfDoc) bytes() []byte {
	var out bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(p.pages)
	// 1 catalog, 2 pages, 3 and 4 fonts, then page i at 5+2i, its content at 6+2i.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, n)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 5+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	for i, pg := range p.pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.0f %.0f] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>", pdfW, pdfH, 6+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", pg.Len(), pg.String()))
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return out.Bytes()
}
