package web

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// The release pages: the list of releases, a release's live rollout view
// with its waves' progress, its wave timeline and its hosts' plan, and
// the calendar of release cycles and maintenance windows. Approvers
// approve or reject waves and operators pause and resume rollouts from
// the release page, through the Backend, which applies the API's rules
// and audits each action.

// ReleaseView is a release as the pages show it.
type ReleaseView struct {
	Name  string
	Cycle string // the month, YYYY-MM
	Kind  string // monthly or out-of-band
	// ReleasedAt anchors the waves' start offsets.
	ReleasedAt    time.Time
	State         patchwave.RolloutState
	StateReason   string
	AllowNoWindow bool
	ContentHash   string
	CreatedBy     string
	CreatedAt     time.Time
	// The counts frozen with the release.
	Hosts, Excluded, NoWave, Held, PatchSets, Patches int
	// Reason is why the release was made (out of band: the KEV entry);
	// Only the CVEs, advisories or packages it was limited to.
	Reason   string
	Only     []string
	Warnings []string
}

// WaveView is one wave of a rollout: its rules, where it stands, and
// what the viewer may do about it.
type WaveView struct {
	Order    int
	Name     string
	Selector string // which hosts it takes, as a selector ("" when it names hosts only)
	State    patchwave.WaveState
	// The driver's counts (see plan.WaveStats): Done hosts whose first
	// attempt finished, Succeeded on the first attempt, Failed now,
	// Running with a live task, Missed given up at the deadline.
	Hosts, Done, Succeeded, Failed, Running, Missed int
	FirstPass                                       float64 // percent of Done; meaningful when Done > 0
	ErrorBudget                                     int     // failures tolerated; one more halts the rollout
	GateSuccessPct                                  float64
	GateMinHosts                                    int
	StartOffset, Soak, Deadline                     time.Duration
	// Start is when the wave started (Started) or is expected to start.
	Start                 time.Time
	Started               bool
	StartedAt, PromotedAt *time.Time
	Note                  string // the driver's latest word on the wave
	// Approvers must approve the promotion (wave 0: the lab sign-off),
	// StartApprovers the start; Awaiting and AwaitingStart are those
	// whose approval is still missing.
	Approvers, StartApprovers []string
	Awaiting, AwaitingStart   []string
	// MayApprove and MayApproveStart say the viewer may give (or
	// refuse) one of the missing approvals now.
	MayApprove, MayApproveStart bool
}

// Interval is a span of time: a window's opening, a freeze.
type Interval struct {
	Name               string // the window it belongs to
	Start, End, CutOff time.Time
}

// RolloutView is a release's rollout as the live view shows it.
type RolloutView struct {
	Release   ReleaseView
	Waves     []WaveView // by order
	Approvals []patchwave.Approval
	// Events are the latest decisions, oldest first.
	Events []patchwave.RolloutEvent
	// Freezes are the change freezes from the release on, for the
	// timeline.
	Freezes []Interval
	// MaySteer says the viewer may pause and resume the rollout.
	MaySteer bool
	// Now is the server's time, Location the organisation's time zone.
	Now      time.Time
	Location *time.Location
}

// PlanQuery picks part of a release's hosts' plan: the hosts of one wave
// (Wave not nil) or one name (Host), Limit of them after Offset.
type PlanQuery struct {
	Wave          *int
	Host          string
	Offset, Limit int
}

// HostPlan is one host's place in a release: its wave, its patches, its
// first opening from its wave's start on or why it has none, and its
// task, once it has one.
type HostPlan struct {
	Host      string
	Wave      int // -1: no wave
	Patches   int
	PatchSet  string
	Opening   *Interval
	Reason    string
	Task      patchwave.TaskState // "" while it has none
	TaskError string
}

// PlanView is the part of a release's hosts' plan a PlanQuery picked,
// and how many hosts the query matches in all.
type PlanView struct {
	Hosts []HostPlan
	Total int
}

// CycleView is one release cycle with the dates of its phases and the
// releases made for it.
type CycleView struct {
	ID       string
	Release  time.Time
	Phases   []Interval // Name is the phase's
	Releases []ReleaseView
}

// WindowView is a maintenance window or change freeze with its next
// openings.
type WindowView struct {
	Name     string
	RRule    string
	TimeZone string
	Duration time.Duration
	CutOff   time.Duration
	Selector string
	Blocking bool
	Next     []Interval
}

// CalendarView is what the calendar shows: cycles from From on, the
// change freezes that fall in them, and every window.
type CalendarView struct {
	From     time.Time // the first day of the first month shown
	Cycles   []CycleView
	Freezes  []Interval
	Windows  []WindowView
	Now      time.Time
	Location *time.Location
}

// WaveDecision is an approval or rejection of a wave's start or
// promotion.
type WaveDecision struct {
	Wave     int
	Stage    string // promote or start
	Decision string // approve or reject
	Reason   string
}

// Rollout actions people take from the release page.
const (
	actionPause  = "pause"
	actionResume = "resume"
)

// Plan pages.
const (
	planPageSize = 50
	maxPlanPage  = 500
)

// rolloutFuncs are the template functions of the release pages.
var rolloutFuncs = template.FuncMap{
	"at":            at,
	"day":           day,
	"agoAt":         agoAt,
	"span":          span,
	"pct":           pct,
	"releaseURL":    releaseURL,
	"rolloutBadge":  rolloutBadge,
	"waveBadge":     waveBadge,
	"taskBadge":     taskBadge,
	"kindName":      releaseKindLabel,
	"progress":      progressOf,
	"eventWave":     eventWave,
	"approverNames": func(l []string) string { return strings.Join(l, ", ") },
	"approveForm":   approveForm,
	"period":        periodOf,
	"phaseName":     phaseLabel,
	"num":           func(n int) string { return number(int64(n)) },
	"isSteady": func(s patchwave.RolloutState) bool {
		return s == patchwave.RolloutScheduled || s == patchwave.RolloutRunning
	},
	"isStopped": func(s patchwave.RolloutState) bool {
		return s == patchwave.RolloutPaused || s == patchwave.RolloutHalted
	},
}

// releasesPage is the list of releases.
type releasesPage struct {
	layout
	Releases []ReleaseView
	Active   int
}

func (h *Handler) getReleases(w http.ResponseWriter, r *http.Request) error {
	rels, err := h.b.Releases(r.Context())
	if err != nil {
		return err
	}
	p := &releasesPage{layout: layout{Title: "Releases", User: currentUser(r), Nav: "releases"}, Releases: rels}
	for _, rel := range rels {
		if !rel.State.Final() {
			p.Active++
		}
	}
	h.render(w, r, http.StatusOK, "releases", p)
	return nil
}

// releasePage is a release's live view, and (unless Live) its hosts' plan.
type releasePage struct {
	layout
	R        RolloutView
	Timeline *chart
	// LiveURL is where the page's script fetches the live part again;
	// empty once the rollout is final.
	LiveURL string
	// Plan is the hosts' plan; nil on the live part alone.
	Plan     *PlanView
	PlanForm planForm
	// Notice says what the last action did; ActionError why it was
	// refused, and Action which action that was ("approve-0", "pause").
	Notice, ActionError, Action string
	// Reason is the reason as typed, when an action was refused.
	Reason string
	Totals rolloutTotals
	Events []patchwave.RolloutEvent // newest first
}

// rolloutTotals adds up the waves' counts.
type rolloutTotals struct {
	Hosts, Done, Succeeded, Failed, Running, Missed int
	FirstPass                                       float64
}

// approveFormData is what the approval form of a wave shows.
type approveFormData struct {
	Release, Stage, Label string
	Wave                  WaveView
	Error, Reason         string // why the last try was refused, and its reason as typed
}

// approveForm is the form that approves or rejects stage (start or
// promote) of wave w on page p.
func approveForm(p *releasePage, w WaveView, stage string) approveFormData {
	f := approveFormData{Release: p.R.Release.Name, Stage: stage, Wave: w}
	switch {
	case stage == "start":
		f.Label = fmt.Sprintf("Approve the start of wave %d", w.Order)
	case w.Order == 0:
		f.Label = "Sign off the lab tests"
	default:
		f.Label = fmt.Sprintf("Approve the promotion of wave %d", w.Order)
	}
	if p.Action == fmt.Sprintf("%s-%d", stage, w.Order) {
		f.Error, f.Reason = p.ActionError, p.Reason
	}
	return f
}

// planForm is the plan's filter form and its pages.
type planForm struct {
	Wave         string // "" for every wave
	Host         string
	Offset       int
	Limit        int
	First, Last  int // the rows shown, counting from 1
	PrevURL      string
	NextURL      string
	ClearURL     string
	WaveChoices  []WaveView
	FilterActive bool
}

// parsePlanQuery reads the plan's part of a release page's query.
func parsePlanQuery(q url.Values, waves []WaveView) (PlanQuery, planForm, error) {
	f := planForm{Wave: strings.TrimSpace(q.Get("wave")), Host: strings.TrimSpace(q.Get("host")), Limit: planPageSize, WaveChoices: waves}
	pq := PlanQuery{Host: f.Host}
	if err := patchwave.ValidText("host", f.Host, 256); err != nil {
		return pq, f, err
	}
	if f.Wave != "" {
		n, err := strconv.Atoi(f.Wave)
		if err != nil || n < 0 || n > 99 {
			return pq, f, patchwave.Errorf(patchwave.EInvalid, "wave must be a wave number from 0 to 99, not %q.", f.Wave)
		}
		if !slices.ContainsFunc(waves, func(w WaveView) bool { return w.Order == n }) {
			return pq, f, patchwave.Errorf(patchwave.EInvalid, "This release has no wave %d.", n)
		}
		pq.Wave = &n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10_000_000 {
			return pq, f, patchwave.Errorf(patchwave.EInvalid, "offset must be a number of hosts, not %q.", s)
		}
		f.Offset = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPlanPage {
			return pq, f, patchwave.Errorf(patchwave.EInvalid, "limit must be a number from 1 to %d, not %q.", maxPlanPage, s)
		}
		f.Limit = n
	}
	pq.Offset, pq.Limit = f.Offset, f.Limit
	f.FilterActive = f.Wave != "" || f.Host != ""
	return pq, f, nil
}

// values is the plan's query, for its page links.
func (f planForm) values(offset int) url.Values {
	v := url.Values{}
	if f.Wave != "" {
		v.Set("wave", f.Wave)
	}
	if f.Host != "" {
		v.Set("host", f.Host)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if f.Limit != planPageSize {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v
}

// releaseURL is the path of a release's page.
func releaseURL(name string) string { return "/releases/" + url.PathEscape(name) }

// withQuery appends v to path, when it holds anything.
func withQuery(path string, v url.Values, fragment string) string {
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	if fragment != "" {
		path += "#" + fragment
	}
	return path
}

// loadRollout returns the rollout of the release named in r's path, as
// r's user sees it; an unknown release is a friendly not-found error.
func (h *Handler) loadRollout(r *http.Request) (RolloutView, error) {
	name := r.PathValue("release")
	ro, err := h.b.Rollout(r.Context(), *currentUser(r), name)
	if patchwave.ErrorCode(err) == patchwave.ENotFound {
		return ro, patchwave.Errorf(patchwave.ENotFound, "There is no release %q. It may never have been created, or the link is wrong.", name)
	}
	if ro.Location == nil {
		ro.Location = time.UTC
	}
	return ro, err
}

// newReleasePage builds the live part of a release's page.
func newReleasePage(r *http.Request, ro RolloutView) *releasePage {
	p := &releasePage{layout: layout{Title: "Release " + ro.Release.Name, User: currentUser(r), Nav: "releases"}, R: ro,
		Timeline: waveTimeline(ro)}
	if !ro.Release.State.Final() {
		p.LiveURL = releaseURL(ro.Release.Name) + "/live"
	}
	t := &p.Totals
	for _, w := range ro.Waves {
		t.Hosts += w.Hosts
		t.Done += w.Done
		t.Succeeded += w.Succeeded
		t.Failed += w.Failed
		t.Running += w.Running
		t.Missed += w.Missed
	}
	if t.Done > 0 {
		t.FirstPass = math.Floor(float64(t.Succeeded)*1000/float64(t.Done)) / 10
	}
	p.Events = slices.Clone(ro.Events)
	slices.Reverse(p.Events)
	return p
}

func (h *Handler) getRelease(w http.ResponseWriter, r *http.Request) error {
	ro, err := h.loadRollout(r)
	if err != nil {
		return err
	}
	p := newReleasePage(r, ro)
	if err := h.addPlan(r, p); err != nil {
		return err
	}
	q := r.URL.Query()
	p.Notice = doneNotice(q.Get("done"), q.Get("on"), ro)
	h.render(w, r, http.StatusOK, "release", p)
	return nil
}

// addPlan adds the hosts' plan that r's query picks to p.
func (h *Handler) addPlan(r *http.Request, p *releasePage) error {
	pq, form, err := parsePlanQuery(r.URL.Query(), p.R.Waves)
	if err != nil {
		return err
	}
	pl, err := h.b.Plan(r.Context(), p.R.Release.Name, pq)
	if err != nil {
		return err
	}
	base := releaseURL(p.R.Release.Name)
	form.ClearURL = base + "#plan"
	if len(pl.Hosts) > 0 {
		form.First, form.Last = form.Offset+1, form.Offset+len(pl.Hosts)
	}
	if form.Offset > 0 {
		form.PrevURL = withQuery(base, form.values(max(form.Offset-form.Limit, 0)), "plan")
	}
	if form.Offset+len(pl.Hosts) < pl.Total && len(pl.Hosts) > 0 {
		form.NextURL = withQuery(base, form.values(form.Offset+len(pl.Hosts)), "plan")
	}
	p.Plan, p.PlanForm = &pl, form
	return nil
}

// getReleaseLive serves the live part of a release's page alone: what the
// page's script fetches every few seconds.
func (h *Handler) getReleaseLive(w http.ResponseWriter, r *http.Request) error {
	ro, err := h.loadRollout(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "release_live", newReleasePage(r, ro))
	return nil
}

// doneNotice says what the action named by done (on wave on) did.
func doneNotice(done, on string, ro RolloutView) string {
	wave := ""
	if n, err := strconv.Atoi(on); err == nil {
		for _, w := range ro.Waves {
			if w.Order == n {
				wave = fmt.Sprintf("wave %d (%s)", w.Order, w.Name)
			}
		}
	}
	switch {
	case done == "approved" && wave != "":
		return "Your approval of " + wave + " is recorded."
	case done == "approved-start" && wave != "":
		return "Your approval to start " + wave + " is recorded."
	case (done == "rejected" || done == "rejected-start") && wave != "":
		return "Your rejection of " + wave + " is recorded: the rollout is halted."
	case done == "paused":
		return "The rollout is paused: no new task starts until it is resumed."
	case done == "resumed":
		return "The rollout is resumed."
	}
	return ""
}

// refuse shows the release page again with err, which refused action,
// next to the form that asked for it.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, action, reason string, err error) error {
	ro, lerr := h.loadRollout(r)
	if lerr != nil {
		return lerr
	}
	p := newReleasePage(r, ro)
	if perr := h.addPlan(r, p); perr != nil {
		return perr
	}
	p.Action, p.ActionError, p.Reason = action, patchwave.ErrorMessage(err), reason
	h.render(w, r, httpStatus(err), "release", p)
	return nil
}

// postApproval approves or rejects a wave's start or promotion, from the
// form on the release page.
func (h *Handler) postApproval(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "The approval form could not be read.")
	}
	f := r.PostForm
	d := WaveDecision{Stage: cmp.Or(f.Get("stage"), "promote"), Decision: cmp.Or(f.Get("decision"), "approve"),
		Reason: strings.TrimSpace(f.Get("reason"))}
	n, err := strconv.Atoi(f.Get("wave"))
	if err != nil || n < 0 || n > 99 {
		return patchwave.Errorf(patchwave.EInvalid, "wave must be a wave number from 0 to 99, not %q.", f.Get("wave"))
	}
	d.Wave = n
	if d.Stage != "promote" && d.Stage != "start" {
		return patchwave.Errorf(patchwave.EInvalid, "stage must be promote or start, not %q.", d.Stage)
	}
	if d.Decision != "approve" && d.Decision != "reject" {
		return patchwave.Errorf(patchwave.EInvalid, "decision must be approve or reject, not %q.", d.Decision)
	}
	name := r.PathValue("release")
	err = h.b.ApproveWave(r.Context(), *currentUser(r), name, d)
	action := fmt.Sprintf("%s-%d", d.Stage, d.Wave)
	switch code := patchwave.ErrorCode(err); {
	case err == nil:
	case code == patchwave.ENotFound && strings.Contains(patchwave.ErrorMessage(err), "no wave"):
		return err
	case code == patchwave.ENotFound:
		return patchwave.Errorf(patchwave.ENotFound, "There is no release %q.", name)
	case code == patchwave.EInvalid || code == patchwave.EConflict:
		return h.refuse(w, r, action, d.Reason, err)
	default:
		return err
	}
	done := "approved"
	if d.Decision == "reject" {
		done = "rejected"
	}
	if d.Stage == "start" {
		done += "-start"
	}
	v := url.Values{"done": {done}, "on": {strconv.Itoa(d.Wave)}}
	http.Redirect(w, r, withQuery(releaseURL(name), v, fmt.Sprintf("wave-%d", d.Wave)), http.StatusSeeOther)
	return nil
}

// postRolloutAction pauses or resumes the rollout of the path's release,
// with the form's reason.
func (h *Handler) postRolloutAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return patchwave.Errorf(patchwave.EInvalid, "The form could not be read.")
		}
		reason := strings.TrimSpace(r.PostForm.Get("reason"))
		retry := r.PostForm.Get("retry_failed") != ""
		name := r.PathValue("release")
		err := h.b.ActOnRollout(r.Context(), *currentUser(r), name, action, reason, retry && action == actionResume)
		switch code := patchwave.ErrorCode(err); {
		case err == nil:
		case code == patchwave.ENotFound:
			return patchwave.Errorf(patchwave.ENotFound, "There is no release %q.", name)
		case code == patchwave.EInvalid || code == patchwave.EConflict:
			return h.refuse(w, r, action, reason, err)
		default:
			return err
		}
		http.Redirect(w, r, withQuery(releaseURL(name), url.Values{"done": {action + "d"}}, "live"), http.StatusSeeOther)
		return nil
	}
}

// calendarPage is the calendar of release cycles and windows.
type calendarPage struct {
	layout
	C                 CalendarView
	Chart             *chart
	From              string // the first month shown, YYYY-MM
	EarlierURL        string
	LaterURL          string
	Count             int
	Freezes, Openings []WindowView
	Legend            []legendItem
}

// legendItem is one entry of a chart's legend.
type legendItem struct {
	Class, Label string
}

// Calendar bounds.
const (
	calendarCycles    = 4
	maxCalendarCycles = 12
)

func (h *Handler) getCalendar(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	count := calendarCycles
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxCalendarCycles {
			return patchwave.Errorf(patchwave.EInvalid, "count must be a number of cycles from 1 to %d, not %q.", maxCalendarCycles, s)
		}
		count = n
	}
	from := q.Get("from")
	if from != "" {
		if _, _, err := patchwave.ParseCycle(from); err != nil {
			return patchwave.Errorf(patchwave.EInvalid, "from must be a month such as 2026-12, not %q.", from)
		}
	}
	cal, err := h.b.Calendar(r.Context(), from, count)
	if err != nil {
		return err
	}
	if cal.Location == nil {
		cal.Location = time.UTC
	}
	start := cal.From.In(cal.Location)
	p := &calendarPage{layout: layout{Title: "Calendar", User: currentUser(r), Nav: "calendar"}, C: cal,
		From: start.Format("2006-01"), Count: count, Chart: calendarChart(cal)}
	link := func(t time.Time) string {
		v := url.Values{"from": {t.Format("2006-01")}}
		if count != calendarCycles {
			v.Set("count", strconv.Itoa(count))
		}
		return "/calendar?" + v.Encode()
	}
	first := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, cal.Location)
	p.EarlierURL, p.LaterURL = link(first.AddDate(0, -count, 0)), link(first.AddDate(0, count, 0))
	if len(cal.Cycles) > 0 {
		for i, ph := range cal.Cycles[0].Phases {
			p.Legend = append(p.Legend, legendItem{Class: fmt.Sprintf("key-phase-%d", i%6), Label: phaseLabel(ph.Name)})
		}
	}
	for _, wv := range cal.Windows {
		if wv.Blocking {
			p.Freezes = append(p.Freezes, wv)
		} else {
			p.Openings = append(p.Openings, wv)
		}
	}
	h.render(w, r, http.StatusOK, "calendar", p)
	return nil
}

// at formats t in loc for people: "Tue 8 Dec 18:00", with the year when
// it is not this year's.
func at(loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if t.Year() != now().In(loc).Year() {
		return t.Format("Mon 2 Jan 2006 15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// day formats t's day in loc: "Tue 8 Dec".
func day(loc *time.Location, t time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if t.Year() != now().In(loc).Year() {
		return t.Format("Mon 2 Jan 2006")
	}
	return t.Format("Mon 2 Jan")
}

// agoAt says how long before ref t was, or how long after: "3 hours
// ago", "in 2 days".
func agoAt(ref, t time.Time) string {
	d := ref.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		s = plural(int(d/(24*time.Hour)), "day")
	default:
		s = plural(int(d/(30*24*time.Hour)), "month")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// span writes a duration in days, hours and minutes: "2 days", "4 hours
// 30 minutes"; "none" for 0.
func span(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, plural(days, "day"))
	}
	if hours > 0 {
		parts = append(parts, plural(hours, "hour"))
	}
	if mins > 0 && days == 0 {
		parts = append(parts, plural(mins, "minute"))
	}
	if len(parts) == 0 {
		return plural(int(d/time.Second), "second")
	}
	return strings.Join(parts, " ")
}

// pct formats a percentage with at most one decimal: "97.5%", "100%".
func pct(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

// releaseKindLabel names a release kind.
func releaseKindLabel(k string) string {
	if k == "out-of-band" {
		return "Out of band"
	}
	return capitalize(k)
}

// rolloutBadge is the badge of a rollout state.
func rolloutBadge(s patchwave.RolloutState) badge {
	switch s {
	case patchwave.RolloutScheduled:
		return badge{Class: "badge badge-info", Label: "Scheduled", Title: "waits for its first wave's start"}
	case patchwave.RolloutRunning:
		return badge{Class: "badge badge-running", Label: "Running"}
	case patchwave.RolloutPaused:
		return badge{Class: "badge badge-warn", Label: "Paused", Title: "no new task starts until it is resumed"}
	case patchwave.RolloutHalted:
		return badge{Class: "badge badge-error", Label: "Halted", Title: "stopped by the error budget or a person; resume it after fixing the cause"}
	case patchwave.RolloutCompleted:
		return badge{Class: "badge badge-ok", Label: "Completed"}
	case patchwave.RolloutAborted:
		return badge{Class: "badge badge-muted", Label: "Aborted"}
	}
	return badge{Class: "badge badge-muted", Label: capitalize(string(s))}
}

// waveBadge is the badge of a wave state.
func waveBadge(s patchwave.WaveState) badge {
	switch s {
	case patchwave.WaveRunning:
		return badge{Class: "badge badge-running", Label: "Running"}
	case patchwave.WavePromoted:
		return badge{Class: "badge badge-ok", Label: "Promoted"}
	}
	return badge{Class: "badge badge-muted", Label: "Waiting"}
}

// taskBadge is the badge of a task state; none yet when s is "".
func taskBadge(s patchwave.TaskState) badge {
	switch s {
	case "":
		return badge{Class: "badge badge-muted", Label: "No task yet"}
	case patchwave.TaskSucceeded:
		return badge{Class: "badge badge-ok", Label: "Patched"}
	case patchwave.TaskFailed:
		return badge{Class: "badge badge-error", Label: "Failed"}
	case patchwave.TaskRunning:
		return badge{Class: "badge badge-running", Label: "Installing"}
	case patchwave.TaskDispatched:
		return badge{Class: "badge badge-running", Label: "Dispatched"}
	case patchwave.TaskPending:
		return badge{Class: "badge badge-info", Label: "Pending"}
	case patchwave.TaskExpired:
		return badge{Class: "badge badge-warn", Label: "Expired", Title: "not picked up before its window's cut-off; armed again at the next opening"}
	case patchwave.TaskCanceled:
		return badge{Class: "badge badge-muted", Label: "Canceled"}
	}
	return badge{Class: "badge badge-muted", Label: capitalize(string(s))}
}

// eventWave names the wave of an event: "wave 1 pilot", or "rollout".
func eventWave(waves []WaveView, n int) string {
	if n < 0 {
		return "rollout"
	}
	for _, w := range waves {
		if w.Order == n {
			return fmt.Sprintf("wave %d · %s", w.Order, w.Name)
		}
	}
	return "wave " + strconv.Itoa(n)
}

// progressBar is a wave's progress as a bar of segments, in percent of
// its hosts, with the same in words.
type progressBar struct {
	Segments []segment
	Label    string
	Empty    bool // the wave has no hosts
}

// segment is one part of a progress bar.
type segment struct {
	Class string
	Label string
	X, W  float64 // in percent of the bar
}

// progressOf lays a wave's counts out as a bar: first-pass successes,
// other finished hosts, failures, live tasks and missed hosts, in that
// order, each at most what is left of the bar.
func progressOf(w WaveView) progressBar {
	b := progressBar{Empty: w.Hosts <= 0}
	b.Label = fmt.Sprintf("%d of %d hosts done", w.Done, w.Hosts)
	var extra []string
	if w.Done > 0 {
		extra = append(extra, pct(w.FirstPass)+" first-pass success")
	}
	if w.Failed > 0 {
		extra = append(extra, strconv.Itoa(w.Failed)+" failed")
	}
	if w.Running > 0 {
		extra = append(extra, strconv.Itoa(w.Running)+" running")
	}
	if w.Missed > 0 {
		extra = append(extra, strconv.Itoa(w.Missed)+" missed")
	}
	if len(extra) > 0 {
		b.Label += ": " + strings.Join(extra, ", ")
	}
	if b.Empty {
		b.Label = "no hosts"
		return b
	}
	retried := max(w.Done-w.Succeeded-w.Failed, 0) // first attempt failed, retry succeeded or running
	left, x := w.Hosts, 0
	for _, s := range []struct {
		class, label string
		n            int
	}{
		{"seg-ok", "succeeded first time", w.Succeeded},
		{"seg-retried", "finished after a retry", retried},
		{"seg-failed", "failed", w.Failed},
		{"seg-running", "running", w.Running},
		{"seg-missed", "missed", w.Missed},
	} {
		n := min(s.n, left)
		if n <= 0 {
			continue
		}
		b.Segments = append(b.Segments, segment{Class: s.class, Label: fmt.Sprintf("%d %s", n, s.label),
			X: 100 * float64(x) / float64(w.Hosts), W: 100 * float64(n) / float64(w.Hosts)})
		left, x = left-n, x+n
	}
	return b
}

// period is a span of time as the pages write it.
type period struct {
	Start, End time.Time
	From, To   string // To is empty when the span is one day
}

// periodOf writes [start, end) in loc: whole days as dates ("Wed 9 Dec –
// Mon 14 Dec", the last day included), else times, the end's day only
// when it differs ("Tue 8 Dec 22:00 – 02:00").
func periodOf(loc *time.Location, start, end time.Time) period {
	if loc == nil {
		loc = time.UTC
	}
	p := period{Start: start, End: end}
	s, e := start.In(loc), end.In(loc)
	if s.Equal(midnight(s, loc)) && e.Equal(midnight(e, loc)) {
		last := e.AddDate(0, 0, -1)
		p.From = day(loc, s)
		if last.After(s) {
			p.To = day(loc, last)
		}
		return p
	}
	p.From = at(loc, s)
	if midnight(s, loc).Equal(midnight(e, loc)) {
		p.To = e.Format("15:04")
	} else {
		p.To = at(loc, e)
	}
	return p
}
