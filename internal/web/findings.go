package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// parseYesNo reads a yes/no filter: true, yes, false or no.
func parseYesNo(name, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, patchwave.Errorf(patchwave.EInvalid, "%s must be true or false, not %q", name, s)
}

// findingFilterForm is the findings list's filter form, as the query string
// has it. Booleans are "true", "false" or "" (either). Sort is "" (by id)
// or "risk" (highest first).
type findingFilterForm struct {
	Host, Site, Tier, Severity, KEV, CVE, Package, Fix, State, Advisory string
	SLA, Excepted, Sort                                                 string
	Limit                                                               int
}

// values encodes the form as a query, leaving out empty fields.
func (f findingFilterForm) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"host", f.Host}, {"site", f.Site}, {"tier", f.Tier}, {"severity", f.Severity},
		{"kev", f.KEV}, {"cve", f.CVE}, {"package", f.Package}, {"has_fix", f.Fix}, {"state", f.State},
		{"advisory", f.Advisory}, {"sla", f.SLA}, {"excepted", f.Excepted}, {"sort", f.Sort}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if f.Limit != 0 && f.Limit != PageSize {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v
}

// Active reports whether any filter is set. Showing fixed findings rather
// than open ones counts as one.
func (f findingFilterForm) Active() bool {
	return f.Host != "" || f.Site != "" || f.Tier != "" || f.Severity != "" || f.KEV != "" || f.CVE != "" ||
		f.Package != "" || f.Fix != "" || f.State != "" || f.Advisory != "" || f.SLA != "" || f.Excepted != ""
}

// ByRisk reports whether the list is sorted by risk, highest first.
func (f findingFilterForm) ByRisk() bool { return f.Sort == "risk" }

// Fixed reports whether the list shows fixed findings rather than open ones.
func (f findingFilterForm) Fixed() bool { return f.State == string(patchwave.FindingFixed) }

// CustomLimit is the page size when the request chose one, and 0 otherwise.
func (f findingFilterForm) CustomLimit() int {
	if f.Limit == PageSize {
		return 0
	}
	return f.Limit
}

// severityChoices are the severity filter's options, highest first.
var severityChoices = []patchwave.Severity{patchwave.SeverityCritical, patchwave.SeverityHigh,
	patchwave.SeverityMedium, patchwave.SeverityLow}

// slaChoices are the SLA filter's options.
var slaChoices = []patchwave.SLAStatus{patchwave.SLAOnTrack, patchwave.SLAAtRisk, patchwave.SLABreached}

// parseFindingFilter reads the findings list's query into a store filter and
// the form that shows it. Sorted by risk, pages are numbered by offset:
// after is then the number of findings on the earlier pages, as in the API.
func parseFindingFilter(q url.Values) (patchwave.FindingFilter, findingFilterForm, error) {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	form := findingFilterForm{
		Host: get("host"), Site: get("site"), Tier: get("tier"), Severity: strings.ToLower(get("severity")),
		KEV: get("kev"), CVE: get("cve"), Package: get("package"), Fix: get("has_fix"), State: strings.ToLower(get("state")),
		Advisory: get("advisory"), SLA: strings.ToLower(get("sla")), Excepted: get("excepted"),
		Sort: strings.ToLower(get("sort")), Limit: PageSize,
	}
	if len(form.CVE) > 4 && strings.EqualFold(form.CVE[:4], "cve-") {
		form.CVE = strings.ToUpper(form.CVE)
	}
	f := patchwave.FindingFilter{Host: form.Host, Site: form.Site, CVE: form.CVE, Package: form.Package,
		Advisory: form.Advisory}
	for _, v := range []struct{ name, s string }{{"host", form.Host}, {"site", form.Site}, {"CVE", form.CVE},
		{"package", form.Package}, {"advisory", form.Advisory}} {
		if err := patchwave.ValidText(v.name, v.s, 256); err != nil {
			return f, form, err
		}
	}
	if form.Tier != "" {
		t, err := patchwave.ParseTier(form.Tier)
		if err != nil {
			return f, form, err
		}
		f.Tier = t
	}
	if form.Severity != "" {
		s := patchwave.Severity(form.Severity)
		if !slices.Contains(severityChoices, s) {
			return f, form, patchwave.Errorf(patchwave.EInvalid,
				"severity must be critical, high, medium or low, not %q", form.Severity)
		}
		f.Severity = s
	}
	for _, b := range []struct {
		name string
		form *string
		dst  **bool
	}{{"kev", &form.KEV, &f.KEV}, {"has_fix", &form.Fix, &f.HasFix}, {"excepted", &form.Excepted, &f.Excepted}} {
		if *b.form == "" {
			continue
		}
		v, err := parseYesNo(b.name, *b.form)
		if err != nil {
			return f, form, err
		}
		*b.dst, *b.form = &v, strconv.FormatBool(v)
	}
	switch form.State {
	case "", "open":
		form.State = ""
	case string(patchwave.FindingFixed):
		f.State = patchwave.FindingFixed
	default:
		return f, form, patchwave.Errorf(patchwave.EInvalid, "state must be open or fixed, not %q", form.State)
	}
	if form.SLA != "" {
		if !slices.Contains(slaChoices, patchwave.SLAStatus(form.SLA)) {
			return f, form, patchwave.Errorf(patchwave.EInvalid, "sla must be on-track, at-risk or breached, not %q", form.SLA)
		}
		f.SLA = form.SLA
	}
	switch form.Sort {
	case "", "id":
		form.Sort = ""
	case "risk":
		f.Sort = "risk"
	default:
		return f, form, patchwave.Errorf(patchwave.EInvalid, "sort must be id or risk, not %q", form.Sort)
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case f.Sort == "risk" && (err != nil || n < 0 || n > 1<<31-1):
			return f, form, patchwave.Errorf(patchwave.EInvalid, "after must be a number of findings, not %q", s)
		case err != nil || n < 0:
			return f, form, patchwave.Errorf(patchwave.EInvalid, "after must be a finding id, not %q", s)
		case f.Sort == "risk":
			f.Offset = int(n)
		default:
			f.After = n
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return f, form, patchwave.Errorf(patchwave.EInvalid, "limit must be a number from 1 to %d, not %q", MaxPageSize, s)
		}
		form.Limit = n
	}
	f.Limit = form.Limit
	return f, form, nil
}

// findingsTable is what the findings-table template shows: findings of
// one host (ShowHost false) or of many.
type findingsTable struct {
	ID       string // prefix of the table's element ids
	Label    string // the table's accessible caption
	ShowHost bool
	Fixed    bool // the findings are fixed ones: say when
	Rows     []patchwave.Finding
}

// findingSummary counts findings by severity and the like.
type findingSummary struct {
	Total, Critical, High, Medium, Low, Other int
	KEV, Ransomware, NoFix, Hosts             int
	// Judged counts the findings with a policy outcome; the others are
	// not assessed against the policy yet.
	Judged, Breached, AtRisk, Excepted int
}

// summarize counts fs.
func summarize(fs []patchwave.Finding) findingSummary {
	var s findingSummary
	hosts := map[string]bool{}
	for _, f := range fs {
		s.Total++
		switch f.Severity {
		case patchwave.SeverityCritical:
			s.Critical++
		case patchwave.SeverityHigh:
			s.High++
		case patchwave.SeverityMedium:
			s.Medium++
		case patchwave.SeverityLow:
			s.Low++
		default:
			s.Other++
		}
		if f.KEV != nil {
			s.KEV++
			if f.KEV.Ransomware {
				s.Ransomware++
			}
		}
		if f.Fixed == "" {
			s.NoFix++
		}
		if p := f.Policy; p != nil {
			s.Judged++
			switch {
			case p.Excepted:
				s.Excepted++
			case p.SLA == patchwave.SLABreached:
				s.Breached++
			case p.SLA == patchwave.SLAAtRisk:
				s.AtRisk++
			}
		}
		key := f.Host
		if f.HostID != 0 {
			key = strconv.FormatInt(f.HostID, 10)
		}
		hosts[key] = true
	}
	s.Hosts = len(hosts)
	return s
}

// sortFindings orders a complete list of findings for reading: highest
// risk first, then known exploited, then by severity, CVSS, EPSS, and
// package.
func sortFindings(fs []patchwave.Finding) {
	slices.SortStableFunc(fs, func(a, b patchwave.Finding) int {
		return cmp.Or(
			cmp.Compare(riskOf(b), riskOf(a)),
			cmp.Compare(b2i(b.KEV != nil), b2i(a.KEV != nil)),
			cmp.Compare(b.Severity.Rank(), a.Severity.Rank()),
			cmp.Compare(b.CVSS, a.CVSS),
			cmp.Compare(b.EPSS, a.EPSS),
			cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Package, b.Package),
		)
	})
}

// riskOf is a finding's risk score, or 0 when it has not been judged.
func riskOf(f patchwave.Finding) float64 {
	if f.Policy == nil {
		return 0
	}
	return f.Policy.Risk.Score
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// findingsPage is the fleet's findings.
type findingsPage struct {
	layout
	Table      findingsTable
	Summary    findingSummary
	Filter     findingFilterForm
	Sites      []string
	Tiers      []patchwave.Tier
	Severities []patchwave.Severity
	SLAs       []patchwave.SLAStatus
	NextURL    string
	FirstURL   string // set on any page but the first
	ClearURL   string
	Paged      bool // not the first page
	More       bool // there are more pages: the summary counts this page only
}

func (h *Handler) getFindings(w http.ResponseWriter, r *http.Request) error {
	f, form, err := parseFindingFilter(r.URL.Query())
	if err != nil {
		return err
	}
	findings, next, err := h.b.Findings(r.Context(), f)
	if err != nil {
		return err
	}
	sites, _, err := h.b.Facets(r.Context())
	if err != nil {
		return err
	}
	if form.Site != "" && !slices.Contains(sites, form.Site) {
		sites = append(slices.Clone(sites), form.Site)
	}
	title := "Findings"
	if form.Fixed() {
		title = "Fixed findings"
	}
	p := &findingsPage{
		layout: layout{Title: title, User: currentUser(r), Nav: "findings"},
		Table: findingsTable{ID: "findings", Label: title + " on this page", ShowHost: true,
			Fixed: form.Fixed(), Rows: findings},
		Summary: summarize(findings), Filter: form, Sites: sites, Tiers: patchwave.Tiers,
		Severities: severityChoices, SLAs: slaChoices, ClearURL: "/findings", Paged: f.After > 0 || f.Offset > 0,
	}
	if form.ByRisk() {
		p.ClearURL = "/findings?sort=risk" // clearing the filters keeps the order
	}
	v := form.values()
	if p.Paged {
		p.FirstURL = "/findings"
		if len(v) > 0 {
			p.FirstURL += "?" + v.Encode()
		}
	}
	if next > 0 && len(findings) > 0 {
		p.More = true
		v.Set("after", strconv.FormatInt(next, 10))
		p.NextURL = "/findings?" + v.Encode()
	}
	h.render(w, r, http.StatusOK, "findings", p)
	return nil
}

// advisoryPage is one advisory and the hosts it affects.
type advisoryPage struct {
	layout
	Advisory   patchwave.Advisory
	Affected   []affectedRow
	References []referenceRow
	Table      findingsTable
	Summary    findingSummary
}

// affectedRow is one affected package of an advisory.
type affectedRow struct {
	Ecosystem, Name string
	Fixed           []string // the fixed versions of its ranges
	LastAffected    []string // the last affected versions, for ranges without a fix
	Versions        int      // how many versions it lists explicitly
}

// referenceRow is one reference of an advisory. URL is set only for http
// and https links; anything else is shown as text, never as a live link.
type referenceRow struct {
	Type string
	URL  string
	Text string
}

func (h *Handler) getAdvisory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	adv, findings, err := h.b.Advisory(r.Context(), id)
	if err != nil {
		if patchwave.ErrorCode(err) == patchwave.ENotFound {
			return patchwave.Errorf(patchwave.ENotFound,
				"There is no advisory %q. No loaded feed has it, or the link is wrong.", id)
		}
		return err
	}
	sortFindings(findings)
	p := &advisoryPage{
		layout:   layout{Title: adv.ID, User: currentUser(r), Nav: "findings"},
		Advisory: adv,
		Table: findingsTable{ID: "affected-hosts", Label: "Hosts affected by " + adv.ID, ShowHost: true,
			Rows: findings},
		Summary: summarize(findings),
	}
	for _, a := range adv.Affected {
		row := affectedRow{Ecosystem: a.Package.Ecosystem, Name: a.Package.Name, Versions: len(a.Versions)}
		for _, rg := range a.Ranges {
			for _, ev := range rg.Events {
				if ev.Fixed != "" && !slices.Contains(row.Fixed, ev.Fixed) {
					row.Fixed = append(row.Fixed, ev.Fixed)
				}
				if ev.LastAffected != "" && !slices.Contains(row.LastAffected, ev.LastAffected) {
					row.LastAffected = append(row.LastAffected, ev.LastAffected)
				}
			}
		}
		p.Affected = append(p.Affected, row)
	}
	for _, ref := range adv.References {
		row := referenceRow{Type: referenceType(ref.Type), Text: ref.URL}
		if webLink(ref.URL) {
			row.URL = ref.URL
		}
		p.References = append(p.References, row)
	}
	h.render(w, r, http.StatusOK, "advisory", p)
	return nil
}

// webLink reports whether s is an absolute http or https URL, the only
// kind of link an advisory may put on the page.
func webLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		!strings.ContainsAny(s, " \t\r\n\"'<>\\")
}

// referenceType is an OSV reference type as people read it.
func referenceType(t string) string {
	switch strings.ToUpper(t) {
	case "ADVISORY":
		return "Advisory"
	case "ARTICLE":
		return "Article"
	case "DETECTION":
		return "Detection"
	case "DISCUSSION":
		return "Discussion"
	case "REPORT":
		return "Report"
	case "FIX":
		return "Fix"
	case "INTRODUCED":
		return "Introduced"
	case "PACKAGE":
		return "Package"
	case "EVIDENCE":
		return "Evidence"
	case "WEB", "":
		return "Web"
	}
	return t
}

// feedsPage is the state of the advisory feeds.
type feedsPage struct {
	layout
	Feeds   []patchwave.Feed
	Failing int
	Records int64
}

func (h *Handler) getFeeds(w http.ResponseWriter, r *http.Request) error {
	feeds, err := h.b.Feeds(r.Context())
	if err != nil {
		return err
	}
	slices.SortStableFunc(feeds, func(a, b patchwave.Feed) int { return cmp.Compare(a.Name, b.Name) })
	p := &feedsPage{layout: layout{Title: "Feeds", User: currentUser(r), Nav: "feeds"}, Feeds: feeds}
	for _, f := range feeds {
		if f.Error != "" {
			p.Failing++
		}
		p.Records += f.Records
	}
	h.render(w, r, http.StatusOK, "feeds", p)
	return nil
}

// interval says how often a feed is fetched: "every 6 hours".
func interval(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case sec <= 0:
		return ""
	case d%(7*24*time.Hour) == 0 && d >= 7*24*time.Hour:
		return every(int(d/(7*24*time.Hour)), "week")
	case d%(24*time.Hour) == 0:
		return every(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return every(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return every(int(d/time.Minute), "minute")
	}
	return every(int(sec), "second")
}

func every(n int, unit string) string {
	if n == 1 {
		return "every " + unit
	}
	return "every " + plural(n, unit)
}
