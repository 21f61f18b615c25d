package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwave/patchwave"
)

// loginPage is the sign-in form.
type loginPage struct {
	layout
	Name    string
	Next    string
	Error   string
	Notice  string
	Problem bool // Error is about the credentials: mark the fields invalid
}

func (h *Handler) getLogin(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if _, err := h.b.Session(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
	}
	p := &loginPage{layout: layout{Title: "Sign in"}, Next: next}
	if r.URL.Query().Has("signed_out") {
		p.Notice = "You have signed out."
	}
	h.render(w, r, http.StatusOK, "login", p)
	return nil
}

// maxFormBytes bounds the body of the sign-in and sign-out forms.
const maxFormBytes = 64 << 10

func (h *Handler) postLogin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "The sign-in form could not be read.")
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	p := &loginPage{layout: layout{Title: "Sign in"}, Name: name, Next: safeNext(r.PostForm.Get("next"))}
	if name == "" || password == "" {
		p.Error = "Enter your user name and your password."
		p.Problem = true
		h.render(w, r, http.StatusBadRequest, "login", p)
		return nil
	}
	token, _, err := h.b.Login(r.Context(), name, password)
	switch patchwave.ErrorCode(err) {
	case "":
	case patchwave.EUnauthorized, patchwave.EForbidden, patchwave.ENotFound, patchwave.EInvalid:
		// One message for every kind of refusal: it must not tell
		// whether the user exists.
		p.Error = "The user name or password is not right. Check them and try again."
		p.Problem = true
		h.render(w, r, http.StatusUnauthorized, "login", p)
		return nil
	case patchwave.ETooMany:
		p.Error = "Too many sign-in attempts. Wait a minute, then try again."
		w.Header().Set("Retry-After", "60")
		h.render(w, r, http.StatusTooManyRequests, "login", p)
		return nil
	default:
		return err
	}
	h.setCookie(w, token)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
	return nil
}

func (h *Handler) postLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if err := h.b.Logout(r.Context(), c.Value); err != nil && patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			// The browser forgets the cookie regardless.
			h.log.WarnContext(r.Context(), "web: logout", "err", err)
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
	return nil
}

// hostFilterForm is the host list's filter form, as the query string has it.
type hostFilterForm struct {
	Site, Tier, Tag, OS, Stale, EOL, Q string
	Limit                              int
}

// values encodes the form as a query, leaving out empty fields.
func (f hostFilterForm) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"site", f.Site}, {"tier", f.Tier}, {"tag", f.Tag}, {"os", f.OS},
		{"stale", f.Stale}, {"eol", f.EOL}, {"q", f.Q}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if f.Limit != 0 && f.Limit != PageSize {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v
}

// Active reports whether any filter is set.
func (f hostFilterForm) Active() bool {
	return f.Site != "" || f.Tier != "" || f.Tag != "" || f.OS != "" || f.Stale != "" || f.EOL != "" || f.Q != ""
}

// CustomLimit is the page size when the request chose one, and 0 otherwise.
func (f hostFilterForm) CustomLimit() int {
	if f.Limit == PageSize {
		return 0
	}
	return f.Limit
}

// hostsPage is the host list.
type hostsPage struct {
	layout
	Hosts      []patchwave.Host
	Filter     hostFilterForm
	Sites      []string
	Tags       []string
	Tiers      []patchwave.Tier
	NextURL    string
	FirstURL   string // set on any page but the first
	ClearURL   string
	Paged      bool // not the first page
	StaleCount int
	EOLCount   int // hosts past the end of life of their OS
}

// parseHostFilter reads the host list's query into a store filter and the
// form that shows it.
func parseHostFilter(q url.Values) (patchwave.HostFilter, hostFilterForm, error) {
	form := hostFilterForm{
		Site: strings.TrimSpace(q.Get("site")), Tier: strings.TrimSpace(q.Get("tier")),
		Tag: strings.TrimSpace(q.Get("tag")), OS: strings.TrimSpace(q.Get("os")),
		Stale: strings.TrimSpace(q.Get("stale")), EOL: strings.TrimSpace(q.Get("eol")),
		Q: strings.TrimSpace(q.Get("q")), Limit: PageSize,
	}
	f := patchwave.HostFilter{Site: form.Site, Tag: form.Tag, OS: form.OS, Query: form.Q}
	for _, v := range []struct{ name, s string }{{"site", form.Site}, {"tag", form.Tag}, {"os", form.OS},
		{"search", form.Q}} {
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
	switch form.Stale {
	case "":
	case "true", "false":
		b := form.Stale == "true"
		f.Stale = &b
	default:
		return f, form, patchwave.Errorf(patchwave.EInvalid, "stale must be true or false, not %q", form.Stale)
	}
	if form.EOL != "" {
		b, err := parseYesNo("eol", form.EOL)
		if err != nil {
			return f, form, err
		}
		f.EOL = &b
		form.EOL = strconv.FormatBool(b) // the form's own spelling
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return f, form, patchwave.Errorf(patchwave.EInvalid, "after must be a host id, not %q", s)
		}
		f.After = n
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

func (h *Handler) getHosts(w http.ResponseWriter, r *http.Request) error {
	f, form, err := parseHostFilter(r.URL.Query())
	if err != nil {
		return err
	}
	hosts, next, err := h.b.ListHosts(r.Context(), f)
	if err != nil {
		return err
	}
	sites, tags, err := h.b.Facets(r.Context())
	if err != nil {
		return err
	}
	// Keep a value typed into the URL selectable, so the form shows it.
	if form.Site != "" && !slices.Contains(sites, form.Site) {
		sites = append(slices.Clone(sites), form.Site)
	}
	if form.Tag != "" && !slices.Contains(tags, form.Tag) {
		tags = append(slices.Clone(tags), form.Tag)
	}
	p := &hostsPage{
		layout: layout{Title: "Hosts", User: currentUser(r), Nav: "hosts"},
		Hosts:  hosts, Filter: form, Sites: sites, Tags: tags, Tiers: patchwave.Tiers,
		ClearURL: "/hosts", Paged: f.After > 0,
	}
	v := form.values()
	if f.After > 0 {
		p.FirstURL = "/hosts"
		if len(v) > 0 {
			p.FirstURL += "?" + v.Encode()
		}
	}
	if next > 0 && len(hosts) > 0 {
		v.Set("after", strconv.FormatInt(next, 10))
		p.NextURL = "/hosts?" + v.Encode()
	}
	for _, h := range hosts {
		if h.Stale {
			p.StaleCount++
		}
		if h.PastEOL {
			p.EOLCount++
		}
	}
	h.render(w, r, http.StatusOK, "hosts", p)
	return nil
}

// hostPage is one host's facts, missing patches and packages.
type hostPage struct {
	layout
	Host     patchwave.Host
	Findings findingsTable // the open findings, most severe first
	Summary  findingSummary
	Packages []packageRow // every package; those not matching PkgQuery are hidden
	Shown    int          // how many match PkgQuery
	PkgQuery string
}

// packageRow is one row of the package table.
type packageRow struct {
	patchwave.Package
	Hidden bool
}

func (h *Handler) getHost(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("host")
	host, err := h.b.Host(r.Context(), key)
	if err != nil {
		if patchwave.ErrorCode(err) == patchwave.ENotFound {
			return patchwave.Errorf(patchwave.ENotFound, "There is no host %q. It may have been deleted, or the link is wrong.", key)
		}
		return err
	}
	pkgs, err := h.b.HostPackages(r.Context(), host.ID)
	if err != nil {
		return err
	}
	findings, err := h.b.HostFindings(r.Context(), host.ID)
	if err != nil {
		return err
	}
	sortFindings(findings)
	p := &hostPage{
		layout:   layout{Title: host.Hostname, User: currentUser(r), Nav: "hosts"},
		Host:     host,
		Findings: findingsTable{ID: "missing", Label: "Missing patches of " + host.Hostname, Rows: findings},
		Summary:  summarize(findings),
		PkgQuery: strings.TrimSpace(r.URL.Query().Get("pkg")),
	}
	// Every package is in the page, and those that do not match the filter
	// are hidden, so that the page's script can show them again as the
	// filter is edited.
	p.Packages = make([]packageRow, len(pkgs))
	for i, pkg := range pkgs {
		match := packageMatches(pkg, strings.ToLower(p.PkgQuery))
		p.Packages[i] = packageRow{Package: pkg, Hidden: !match}
		if match {
			p.Shown++
		}
	}
	h.render(w, r, http.StatusOK, "host", p)
	return nil
}

// packageMatches reports whether the package's name, source or version
// contains q, which is in lower case. The page's script filters the same way
// as you type.
func packageMatches(p patchwave.Package, q string) bool {
	return q == "" || strings.Contains(strings.ToLower(p.Name), q) ||
		strings.Contains(strings.ToLower(p.Source), q) || strings.Contains(strings.ToLower(p.Version), q)
}
