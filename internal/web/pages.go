package web

import (
	"net"
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
	token, _, err := h.b.Login(r.Context(), name, password, clientHost(r))
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
	// Edit is the form that changes the host's site, tier, owner and tags,
	// for those who may change it; nil for the others.
	Edit *hostEditForm
	// Notice says what the last change did.
	Notice string
}

// packageRow is one row of the package table.
type packageRow struct {
	patchwave.Package
	Hidden bool
}

// hostEditForm is the host page's form, as typed.
type hostEditForm struct {
	Site, Tier, Owner, Tags string
	// Sites are the sites to choose from: a site admin's own, or the known
	// ones as suggestions for anyone else, who may type a new one.
	Sites []string
	Fixed bool // Sites is the only choice (a site admin)
	Tiers []patchwave.Tier
	Error string
	Field string // the field at fault, when known
	Open  bool   // show the form unfolded
}

// canEditHost reports whether u may change h: the API decides, this only
// spares a form that would be refused.
func canEditHost(u *patchwave.User, h patchwave.Host) bool {
	return u != nil && u.CanWrite(h.Site)
}

// newHostEditForm is the form filled in with h's values, for u.
func newHostEditForm(u *patchwave.User, h patchwave.Host, sites []string) *hostEditForm {
	f := &hostEditForm{Site: h.Site, Tier: string(h.Tier), Owner: h.Owner, Tags: strings.Join(h.Tags, ", "),
		Sites: sites, Tiers: patchwave.Tiers}
	if u.Role == patchwave.RoleSiteAdmin {
		f.Sites, f.Fixed = slices.Clone(u.Sites), true
	}
	return f
}

// update is the change the form makes to h: only the fields that differ,
// so that saving an owner does not pin a tier that a rule or the
// enrollment token set.
func (f *hostEditForm) update(h patchwave.Host) (patchwave.HostUpdate, error) {
	var upd patchwave.HostUpdate
	if f.Site != h.Site {
		if f.Site != "" {
			if err := patchwave.ValidLabel("site", f.Site); err != nil {
				f.Field = "site"
				return upd, err
			}
		}
		upd.Site = &f.Site
	}
	tier, err := patchwave.ParseTier(f.Tier)
	if err != nil {
		f.Field = "tier"
		return upd, err
	}
	if tier != h.Tier {
		upd.Tier = &tier
	}
	if f.Owner != h.Owner {
		if err := patchwave.ValidText("owner", f.Owner, 128); err != nil {
			f.Field = "owner"
			return upd, err
		}
		upd.Owner = &f.Owner
	}
	tags, err := patchwave.NormalizeTags(patchwave.SplitList(f.Tags))
	if err != nil {
		f.Field = "tags"
		return upd, err
	}
	if !slices.Equal(tags, h.Tags) {
		upd.Tags = &tags
	}
	return upd, nil
}

// changed reports whether an update changes anything.
func changed(u patchwave.HostUpdate) bool {
	return u.Site != nil || u.Tier != nil || u.Owner != nil || u.Tags != nil || u.HighExposure != nil
}

func (h *Handler) getHost(w http.ResponseWriter, r *http.Request) error {
	host, err := h.lookupHost(r)
	if err != nil {
		return err
	}
	p, err := h.hostPage(r, host)
	if err != nil {
		return err
	}
	if r.URL.Query().Has("saved") {
		p.Notice = "Your changes to " + host.Hostname + " are saved."
	}
	h.render(w, r, http.StatusOK, "host", p)
	return nil
}

// lookupHost returns the host that the request's path names.
func (h *Handler) lookupHost(r *http.Request) (patchwave.Host, error) {
	key := r.PathValue("host")
	host, err := h.b.Host(r.Context(), key)
	if patchwave.ErrorCode(err) == patchwave.ENotFound {
		return host, patchwave.Errorf(patchwave.ENotFound, "There is no host %q. It may have been deleted, or the link is wrong.", key)
	}
	return host, err
}

// hostPage builds the page of host, with the edit form for those who may
// use it.
func (h *Handler) hostPage(r *http.Request, host patchwave.Host) (*hostPage, error) {
	pkgs, err := h.b.HostPackages(r.Context(), host.ID)
	if err != nil {
		return nil, err
	}
	findings, err := h.b.HostFindings(r.Context(), host.ID)
	if err != nil {
		return nil, err
	}
	sortFindings(findings)
	u := currentUser(r)
	p := &hostPage{
		layout:   layout{Title: host.Hostname, User: u, Nav: "hosts"},
		Host:     host,
		Findings: findingsTable{ID: "missing", Label: "Missing patches of " + host.Hostname, Rows: findings},
		Summary:  summarize(findings),
		PkgQuery: strings.TrimSpace(r.URL.Query().Get("pkg")),
	}
	if canEditHost(u, host) {
		sites, _, err := h.b.Facets(r.Context())
		if err != nil {
			return nil, err
		}
		p.Edit = newHostEditForm(u, host, sites)
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
	return p, nil
}

// postHost saves the host form. The backend applies the API's rules: a
// refusal shows the form again with the reason, or, for someone who was
// never shown the form, an error page.
func (h *Handler) postHost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "The host form could not be read.")
	}
	host, err := h.lookupHost(r)
	if err != nil {
		return err
	}
	u := currentUser(r)
	form := &hostEditForm{Site: strings.TrimSpace(r.PostForm.Get("site")), Tier: strings.TrimSpace(r.PostForm.Get("tier")),
		Owner: strings.TrimSpace(r.PostForm.Get("owner")), Tags: strings.TrimSpace(r.PostForm.Get("tags"))}
	upd, err := form.update(host)
	if err == nil && changed(upd) {
		_, err = h.b.UpdateHost(r.Context(), *u, strconv.FormatInt(host.ID, 10), upd)
	}
	switch code := patchwave.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, hostURL(host)+"?saved=1", http.StatusSeeOther)
		return nil
	case !canEditHost(u, host) || (code != patchwave.EInvalid && code != patchwave.EForbidden && code != patchwave.EConflict):
		return err
	}
	p, perr := h.hostPage(r, host)
	if perr != nil {
		return perr
	}
	form.Sites, form.Fixed, form.Tiers = p.Edit.Sites, p.Edit.Fixed, p.Edit.Tiers
	form.Error, form.Open = patchwave.ErrorMessage(err), true
	if form.Field == "" && upd.Site != nil {
		form.Field = "site" // the API refuses moves by the new site
	}
	p.Edit = form
	h.render(w, r, patchwave.HTTPStatus(patchwave.ErrorCode(err)), "host", p)
	return nil
}

// packageMatches reports whether the package's name, source or version
// contains q, which is in lower case. The page's script filters the same way
// as you type.
func packageMatches(p patchwave.Package, q string) bool {
	return q == "" || strings.Contains(strings.ToLower(p.Name), q) ||
		strings.Contains(strings.ToLower(p.Source), q) || strings.Contains(strings.ToLower(p.Version), q)
}

// clientHost is the address of the peer that sent r, for throttling
// guessed sign-ins.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
