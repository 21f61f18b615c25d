package web

import (
	"cmp"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// The policy page is read-only: the SLA and baselines are changed through
// the API and the CLI, which it names, so that every such change is
// scripted and reviewed the same way. Exceptions are decided where they
// are listed: approvers approve and reject them, their owners and
// operators revoke them, site admins submit exclusions, through the
// Backend, which applies the API's rules and audits each action.

// policyPage is the patch policy: the SLA, the baselines and the service
// baselines.
type policyPage struct {
	layout
	SLA              slaTable
	Baselines        []baselineView
	ServiceBaselines []patchwave.ServiceBaseline
	Compliance       []complianceState
}

// slaTable is the SLA policy as a table of tiers × severities.
type slaTable struct {
	Severities []patchwave.Severity
	Rows       []slaRow
	AtRisk     string // "80%"
	KEV        bool
	// NoneOwn and UnknownOwn say whether the policy has windows of its
	// own for those severities (they are then columns of the table).
	NoneOwn, UnknownOwn bool
	Note                string // what the severities without a column get
}

// slaRow is one tier's windows, in the order of slaTable.Severities.
type slaRow struct {
	Tier patchwave.Tier
	Days []int
}

// baselineView is a baseline as the policy page shows it.
type baselineView struct {
	patchwave.Baseline
	Level string   // host, scoped or global
	Rules []string // each rule in words
	Hosts []string // the hosts a host override names
}

// complianceState is one entry of the compliance legend.
type complianceState struct {
	State patchwave.Compliance
	Means string
}

// complianceLegend says what each host compliance state means.
var complianceLegend = []complianceState{
	{patchwave.Compliant, "No approved patch is missing and nothing that can be fixed is past due. Findings without a fix do not count against a host."},
	{patchwave.CompliantWithExceptions, "Compliant, thanks to exceptions that cover the remaining findings."},
	{patchwave.NonCompliant, "An approved patch is missing (or an unexpected service runs), still within its SLA."},
	{patchwave.ComplianceBreached, "A finding that has a fix, and that no exception covers, is past its due date."},
	{patchwave.ComplianceUnknown, "The host has not been assessed, or not recently."},
}

func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request) error {
	sla, err := h.b.SLA(r.Context())
	if err != nil {
		return err
	}
	bs, err := h.b.Baselines(r.Context())
	if err != nil {
		return err
	}
	sbs, err := h.b.ServiceBaselines(r.Context())
	if err != nil {
		return err
	}
	p := &policyPage{
		layout: layout{Title: "Policy", User: currentUser(r), Nav: "policy"},
		SLA:    slaTableOf(sla), ServiceBaselines: sbs, Compliance: complianceLegend,
	}
	for _, b := range bs {
		v := baselineView{Baseline: b, Level: b.Level()}
		for _, rule := range b.Rules {
			v.Rules = append(v.Rules, ruleText(rule))
		}
		if v.Level == patchwave.ScopeHost {
			v.Hosts, _ = b.Selector.Hostnames()
		}
		p.Baselines = append(p.Baselines, v)
	}
	// Most specific first, as Decide consults them.
	slices.SortStableFunc(p.Baselines, func(a, b baselineView) int {
		return cmp.Or(cmp.Compare(levelRank(a.Level), levelRank(b.Level)), cmp.Compare(a.ID, b.ID), strings.Compare(a.Name, b.Name))
	})
	slices.SortStableFunc(p.ServiceBaselines, func(a, b patchwave.ServiceBaseline) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	h.render(w, r, http.StatusOK, "policy", p)
	return nil
}

// levelRank orders baseline levels by precedence.
func levelRank(level string) int {
	switch level {
	case patchwave.ScopeHost:
		return 0
	case patchwave.ScopeScoped:
		return 1
	}
	return 2
}

// slaTableOf lays an SLA policy out as a table.
func slaTableOf(p patchwave.SLAPolicy) slaTable {
	t := slaTable{Severities: slices.Clone(severityChoices), KEV: p.KEVDueDates}
	r := p.AtRisk
	if math.IsNaN(r) || r <= 0 || r >= 1 {
		r = patchwave.DefaultAtRisk
	}
	t.AtRisk = strconv.FormatFloat(r*100, 'f', -1, 64) + "%"
	for _, row := range p.Days {
		if _, ok := row[patchwave.SeverityNone]; ok {
			t.NoneOwn = true
		}
		if _, ok := row[patchwave.SeverityUnknown]; ok {
			t.UnknownOwn = true
		}
	}
	if t.NoneOwn {
		t.Severities = append(t.Severities, patchwave.SeverityNone)
	}
	if t.UnknownOwn {
		t.Severities = append(t.Severities, patchwave.SeverityUnknown)
	}
	const unrated = "unrated findings get the medium window: an unrated flaw is not assumed harmless."
	switch {
	case !t.NoneOwn && !t.UnknownOwn:
		t.Note = "Findings of severity none get the low window, and " + unrated
	case !t.NoneOwn:
		t.Note = "Findings of severity none get the low window."
	case !t.UnknownOwn:
		t.Note = capitalize(unrated)
	}
	for _, tier := range patchwave.Tiers {
		row := slaRow{Tier: tier}
		for _, s := range t.Severities {
			row.Days = append(row.Days, p.WindowDays(tier, s))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// ruleText says what a baseline rule approves, in words: "Approve
// security patches of high severity or higher, in Debian:*, 7 days after
// publication."
func ruleText(r patchwave.BaselineRule) string {
	what := "patches"
	if r.Classification != "" {
		what = r.Classification + " patches"
	}
	var cond []string
	switch {
	case r.MinSeverity == patchwave.SeverityCritical:
		cond = append(cond, "of critical severity")
	case r.MinSeverity == patchwave.SeverityNone:
		cond = append(cond, "of any rated severity")
	case r.MinSeverity != "":
		cond = append(cond, "of "+string(r.MinSeverity)+" severity or higher")
	}
	if r.Ecosystem != "" {
		cond = append(cond, "in "+r.Ecosystem)
	}
	if r.Package != "" {
		if strings.ContainsAny(r.Package, "*?[") {
			cond = append(cond, "of packages matching "+r.Package)
		} else {
			cond = append(cond, "of package "+r.Package)
		}
	}
	if len(cond) == 0 && r.Classification == "" {
		what = "every patch"
	}
	var when string
	switch {
	case r.ApproveAfterDays != nil && *r.ApproveAfterDays == 0:
		when = "as soon as it is published"
		if what != "every patch" {
			when = "as soon as they are published"
		}
	case r.ApproveAfterDays != nil:
		when = plural(*r.ApproveAfterDays, "day") + " after publication"
	case r.ApproveUntil != nil:
		when = "when published on or before " + dateOrTime(*r.ApproveUntil) + " (a freeze)"
	default:
		when = "at once"
	}
	s := "Approve " + what
	if len(cond) > 0 {
		s += " " + strings.Join(cond, ", ")
	}
	return s + ", " + when + "."
}

// dateOrTime formats t as a date when it is midnight UTC or the end of a
// day UTC (as a plain approve_until date is read), and as a time
// otherwise.
func dateOrTime(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24*time.Hour)) || patchwave.IsEndOfDayUTC(t) {
		return t.Format("2006-01-02")
	}
	return timestamp(t)
}

// exceptionFilterForm is the exception list's filter form.
type exceptionFilterForm struct {
	State, Kind string
}

// Active reports whether any filter is set.
func (f exceptionFilterForm) Active() bool { return f.State != "" || f.Kind != "" }

// exceptionCounts counts exceptions by state.
type exceptionCounts struct {
	Pending, Approved, Rejected, Revoked, Expired, Late int
}

// exceptionsPage is the list of exceptions.
type exceptionsPage struct {
	layout
	Rows     []exceptionRow
	Total    int // before filtering
	Counts   exceptionCounts
	Filter   exceptionFilterForm
	States   []patchwave.ExceptionState
	Kinds    []patchwave.ExceptionKind
	ClearURL string
	// Actions is set when the viewer may act on some row.
	Actions bool
	// Form is the exclusion form, for those who may submit one.
	Form *exclusionForm
	// Notice says what the last action did.
	Notice string
}

// exceptionRow is an exception as the list shows it, with what the viewer
// may do with it (the API decides; this only spares useless buttons).
type exceptionRow struct {
	patchwave.Exception
	CanDecide bool // approve or reject
	CanRevoke bool
}

// exclusionForm is the form that submits an exclusion, as typed.
type exclusionForm struct {
	Site, Host, Cycle, Expires, Justification string
	// Sites are the sites a site admin chooses from; empty: any, typed.
	Sites  []string
	Cycles []cycleChoice
	Zone   string // the time zone dates are read in
	// Until is the last day an exclusion from the current cycle may end
	// on and still take effect without an approver.
	Until string
	Error string
	// Field is the form field at fault, when known.
	Field string
}

// cycleChoice is one option of the form's cycle menu.
type cycleChoice struct {
	Value, Label string
}

// canDecide reports whether u may approve or reject e.
func canDecide(u *patchwave.User, e patchwave.Exception) bool {
	return u != nil && e.State == patchwave.ExceptionPending &&
		(u.Role == patchwave.RoleAdmin || (u.Role == patchwave.RoleApprover && u.Name != e.Owner))
}

// canRevoke reports whether u may revoke e.
func canRevoke(u *patchwave.User, e patchwave.Exception) bool {
	if u == nil || (e.State != patchwave.ExceptionPending && e.State != patchwave.ExceptionApproved) {
		return false
	}
	switch u.Role {
	case patchwave.RoleAdmin, patchwave.RoleApprover, patchwave.RoleOperator:
		return true
	}
	return u.Name == e.Owner
}

// canSubmit reports whether u may submit exclusions.
func canSubmit(u *patchwave.User) bool {
	return u != nil && (u.Role == patchwave.RoleAdmin || u.Role == patchwave.RoleOperator ||
		(u.Role == patchwave.RoleSiteAdmin && len(u.Sites) > 0))
}

// newExclusionForm is an empty exclusion form for u at now: the current
// cycle and the next two to choose from, and an end date that keeps the
// exclusion within the current cycle.
func newExclusionForm(u *patchwave.User, now time.Time, loc *time.Location) *exclusionForm {
	f := &exclusionForm{Zone: loc.String()}
	if u.Role == patchwave.RoleSiteAdmin {
		f.Sites = slices.Clone(u.Sites)
		f.Site = f.Sites[0]
	}
	now = now.In(loc)
	cur := patchwave.CycleAt(now, loc)
	f.Cycles = append(f.Cycles, cycleChoice{"", "This month's (" + cur + "), then every cycle until it ends"})
	for i := range 3 {
		m := time.Date(now.Year(), now.Month()+time.Month(i), 1, 0, 0, 0, 0, loc)
		c := patchwave.CycleAt(m, loc)
		pt := patchwave.PatchTuesday(m.Year(), m.Month(), loc)
		f.Cycles = append(f.Cycles, cycleChoice{c, c + " only (Patch Tuesday " + pt.Format("2 January") + ")"})
	}
	if _, end, err := patchwave.CycleBounds(cur, loc); err == nil {
		f.Until = end.AddDate(0, 0, -1).Format(time.DateOnly)
		f.Expires = f.Until
	}
	return f
}

// parseExceptionFilter reads the exception list's query.
func parseExceptionFilter(q url.Values) (exceptionFilterForm, error) {
	f := exceptionFilterForm{State: strings.ToLower(strings.TrimSpace(q.Get("state"))),
		Kind: strings.ToLower(strings.TrimSpace(q.Get("kind")))}
	if f.State != "" && !slices.Contains(patchwave.ExceptionStates, patchwave.ExceptionState(f.State)) {
		return f, patchwave.Errorf(patchwave.EInvalid,
			"state must be pending, approved, rejected, revoked or expired, not %q", f.State)
	}
	if f.Kind != "" && !slices.Contains(patchwave.ExceptionKinds, patchwave.ExceptionKind(f.Kind)) {
		return f, patchwave.Errorf(patchwave.EInvalid,
			"kind must be exclusion, restriction or risk-acceptance, not %q", f.Kind)
	}
	return f, nil
}

func (h *Handler) getExceptions(w http.ResponseWriter, r *http.Request) error {
	form, err := parseExceptionFilter(r.URL.Query())
	if err != nil {
		return err
	}
	p, err := h.exceptionsPage(r, form, nil)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for _, key := range []string{"created", "decided"} {
		id, err := strconv.ParseInt(q.Get(key), 10, 64)
		if err != nil {
			continue
		}
		for _, e := range p.Rows {
			if e.ID == id {
				p.Notice = actionNotice(key, e.Exception)
			}
		}
	}
	h.render(w, r, http.StatusOK, "exceptions", p)
	return nil
}

// actionNotice says what submitting (key "created") or deciding on
// ("decided") e did.
func actionNotice(key string, e patchwave.Exception) string {
	what := kindLabel(e.Kind) + " #" + strconv.FormatInt(e.ID, 10)
	switch {
	case key == "decided":
		return what + " is " + string(e.State) + "."
	case e.State == patchwave.ExceptionApproved:
		return what + " is in effect: it needed no approver."
	case e.State == patchwave.ExceptionPending && e.Kind == patchwave.ExceptionExclusion && e.Late:
		return what + " waits for an approver: it came after its cycle's deadline."
	case e.State == patchwave.ExceptionPending && e.Kind == patchwave.ExceptionExclusion:
		return what + " waits for an approver: it runs past the end of its cycle."
	case e.State == patchwave.ExceptionPending:
		return what + " waits for an approver."
	}
	return what + " is " + string(e.State) + "."
}

// exceptionsPage builds the exceptions page for r's user, filtered by
// form, with the exclusion form as typed (nil: a new one).
func (h *Handler) exceptionsPage(r *http.Request, form exceptionFilterForm, typed *exclusionForm) (*exceptionsPage, error) {
	all, err := h.b.Exceptions(r.Context())
	if err != nil {
		return nil, err
	}
	u := currentUser(r)
	p := &exceptionsPage{
		layout: layout{Title: "Exceptions", User: u, Nav: "exceptions"},
		Total:  len(all), Filter: form, States: patchwave.ExceptionStates, Kinds: patchwave.ExceptionKinds,
		ClearURL: "/exceptions",
	}
	if canSubmit(u) {
		p.Form = typed
		if p.Form == nil {
			p.Form = newExclusionForm(u, now(), h.b.TimeZone())
		}
	}
	for _, e := range all {
		if e.State == "" {
			e.State = patchwave.ExceptionPending
		}
		switch e.State {
		case patchwave.ExceptionPending:
			p.Counts.Pending++
		case patchwave.ExceptionApproved:
			p.Counts.Approved++
		case patchwave.ExceptionRejected:
			p.Counts.Rejected++
		case patchwave.ExceptionRevoked:
			p.Counts.Revoked++
		case patchwave.ExceptionExpired:
			p.Counts.Expired++
		}
		if e.Late {
			p.Counts.Late++
		}
		if (form.State == "" || string(e.State) == form.State) && (form.Kind == "" || string(e.Kind) == form.Kind) {
			row := exceptionRow{Exception: e, CanDecide: canDecide(u, e), CanRevoke: canRevoke(u, e)}
			p.Actions = p.Actions || row.CanDecide || row.CanRevoke
			p.Rows = append(p.Rows, row)
		}
	}
	// Newest first.
	slices.SortStableFunc(p.Rows, func(a, b exceptionRow) int { return cmp.Compare(b.ID, a.ID) })
	return p, nil
}

// postExclusion submits an exclusion from the form on the exceptions
// page. A refusal shows the page again with the form as typed and the
// reason; success goes back to the list, which says what happened.
func (h *Handler) postExclusion(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "The exclusion form could not be read.")
	}
	u := currentUser(r)
	if !canSubmit(u) {
		return patchwave.Errorf(patchwave.EForbidden, "Your role (%s) may not submit exclusions.", u.Role)
	}
	loc := h.b.TimeZone()
	f := newExclusionForm(u, now(), loc)
	get := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
	f.Site, f.Host, f.Cycle, f.Expires, f.Justification = get("site"), get("host"), get("cycle"), get("expires"), get("justification")
	refuse := func(field string, err error) error {
		f.Error, f.Field = patchwave.ErrorMessage(err), field
		p, perr := h.exceptionsPage(r, exceptionFilterForm{}, f)
		if perr != nil {
			return perr
		}
		h.render(w, r, httpStatus(err), "exceptions", p)
		return nil
	}
	e := patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: f.Site, Host: f.Host, Cycle: f.Cycle, Justification: f.Justification}
	if f.Site == "" && f.Host == "" {
		return refuse("site", patchwave.Errorf(patchwave.EInvalid, "Name the site or the host to exclude."))
	}
	d, err := time.ParseInLocation(time.DateOnly, f.Expires, loc)
	if err != nil {
		return refuse("expires", patchwave.Errorf(patchwave.EInvalid, "Give the day the exclusion ends, like %s.", f.Until))
	}
	e.ExpiresAt = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc).Add(-time.Millisecond) // the end of that day
	got, _, err := h.b.CreateException(r.Context(), *u, e)
	switch patchwave.ErrorCode(err) {
	case "":
	case patchwave.EInvalid, patchwave.EForbidden, patchwave.EConflict, patchwave.ENotFound:
		field := ""
		switch msg := patchwave.ErrorMessage(err); {
		case strings.Contains(msg, "justification"):
			field = "justification"
		case strings.Contains(msg, "expires_at"):
			field = "expires"
		case strings.Contains(msg, "cycle"):
			field = "cycle"
		case strings.Contains(msg, "host"):
			field = "host"
		case strings.Contains(msg, "site"):
			field = "site"
		}
		return refuse(field, err)
	default:
		return err
	}
	id := strconv.FormatInt(got.ID, 10)
	http.Redirect(w, r, "/exceptions?created="+id+"#exception-"+id, http.StatusSeeOther)
	return nil
}

// postDecision approves, rejects or revokes the exception of the path,
// with the comment of the form, and goes back to the list.
func (h *Handler) postDecision(to patchwave.ExceptionState) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return patchwave.Errorf(patchwave.EInvalid, "The form could not be read.")
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			return patchwave.Errorf(patchwave.ENotFound, "There is no exception %q.", r.PathValue("id"))
		}
		e, err := h.b.DecideException(r.Context(), *currentUser(r), id, to, strings.TrimSpace(r.PostForm.Get("comment")))
		if err != nil {
			return err
		}
		s := strconv.FormatInt(e.ID, 10)
		http.Redirect(w, r, "/exceptions?decided="+s+"#exception-"+s, http.StatusSeeOther)
		return nil
	}
}

// badge is a label and the CSS classes that colour it, with an optional
// longer explanation and link.
type badge struct {
	Class, Label, Title, URL string
}

// slaBadge is the badge of an SLA status; for fixed findings it says
// whether the fix came in time.
func slaBadge(s patchwave.SLAStatus, fixed bool) badge {
	if fixed {
		if s == patchwave.SLABreached {
			return badge{Class: "sla sla-breached", Label: "Fixed late"}
		}
		return badge{Class: "sla sla-on-track", Label: "Fixed in time"}
	}
	switch s {
	case patchwave.SLAOnTrack:
		return badge{Class: "sla sla-on-track", Label: "On track"}
	case patchwave.SLAAtRisk:
		return badge{Class: "sla sla-at-risk", Label: "At risk"}
	case patchwave.SLABreached:
		return badge{Class: "sla sla-breached", Label: "Breached"}
	}
	return badge{Class: "sla", Label: "Unknown"}
}

// complianceBadge is the badge of a compliance state; "" is unknown.
func complianceBadge(c string) badge {
	switch patchwave.Compliance(c) {
	case patchwave.Compliant:
		return badge{Class: "compliance compliance-compliant", Label: "Compliant"}
	case patchwave.CompliantWithExceptions:
		return badge{Class: "compliance compliance-exceptions", Label: "Compliant with exceptions"}
	case patchwave.NonCompliant:
		return badge{Class: "compliance compliance-non-compliant", Label: "Non-compliant"}
	case patchwave.ComplianceBreached:
		return badge{Class: "compliance compliance-breached", Label: "SLA breached"}
	}
	return badge{Class: "compliance compliance-unknown", Label: "Unknown"}
}

// approvalBadge says what the policy makes of a finding's patch: excepted,
// approved, rejected, or not (yet) approved. Findings without a policy, or
// without a patch to approve (no fix yet), have none: Label is empty.
func approvalBadge(p *patchwave.FindingPolicy) badge {
	switch {
	case p == nil:
		return badge{}
	case p.Excepted:
		ids := make([]string, len(p.ExceptionIDs))
		for i, id := range p.ExceptionIDs {
			ids[i] = "#" + strconv.FormatInt(id, 10)
		}
		b := badge{Class: "appr appr-excepted", Label: "Excepted", Title: "Covered by exception " + strings.Join(ids, ", "),
			URL: "/exceptions"}
		if len(p.ExceptionIDs) > 0 {
			b.URL += "#exception-" + strconv.FormatInt(p.ExceptionIDs[0], 10)
		}
		return b
	case p.Decision == nil:
		return badge{}
	case p.Decision.Blocked:
		return badge{Class: "appr appr-rejected", Label: "Rejected", Title: p.Decision.Reason}
	case p.Decision.DependencyOnly:
		return badge{Class: "appr appr-pending", Label: "Dependency only", Title: p.Decision.Reason}
	case p.Decision.Approved:
		return badge{Class: "appr appr-approved", Label: "Approved", Title: p.Decision.Reason}
	case p.Decision.ApprovedFrom != nil && p.Decision.ApprovedFrom.After(now()):
		return badge{Class: "appr appr-pending", Label: "Approved from " + p.Decision.ApprovedFrom.UTC().Format("2006-01-02"),
			Title: p.Decision.Reason}
	}
	return badge{Class: "appr appr-none", Label: "Not approved", Title: p.Decision.Reason}
}

// riskClass is the CSS class of a risk score's band.
func riskClass(score float64) string {
	switch {
	case score >= 70:
		return "risk risk-critical"
	case score >= 45:
		return "risk risk-high"
	case score >= 25:
		return "risk risk-medium"
	}
	return "risk risk-low"
}

// riskPartLabel names a part of a risk score.
func riskPartLabel(name string) string {
	switch name {
	case "severity":
		return "Severity"
	case "kev":
		return "Known exploited"
	case "epss":
		return "Exploit probability"
	case "tier":
		return "Host tier"
	case "exposure":
		return "Exposure"
	}
	return name
}

// score formats a risk score or its part with one decimal: "93.4".
func score(v float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// tierSourceLabel says where a host's tier came from.
func tierSourceLabel(s string) string {
	switch s {
	case "manual":
		return "tier set by hand"
	case "rule":
		return "tier set by rule"
	case "token":
		return "tier from the enrollment token"
	case "default":
		return "default tier"
	case "":
		return ""
	}
	return "tier from " + s
}

// exceptionStateClass is the CSS class of an exception state's badge.
func exceptionStateClass(s patchwave.ExceptionState) string {
	switch s {
	case patchwave.ExceptionApproved:
		return "badge badge-ok"
	case patchwave.ExceptionPending, "":
		return "badge badge-warn"
	case patchwave.ExceptionRejected:
		return "badge badge-error"
	}
	return "badge badge-muted" // revoked, expired
}

// capitalize writes s with a capital first letter: "Risk-acceptance".
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// kindLabel names an exception kind.
func kindLabel(k patchwave.ExceptionKind) string {
	if k == patchwave.ExceptionRiskAcceptance {
		return "Risk acceptance"
	}
	return capitalize(string(k))
}

// hostNameURL is the page of the host with this name, or "" when the name
// could be taken for an id.
func hostNameURL(name string) string {
	if name == "" || strings.Trim(name, "0123456789") == "" {
		return ""
	}
	return hostURL(patchwave.Host{Hostname: name})
}
