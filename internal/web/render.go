package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// layout is what every page's frame needs: the top bar and the title.
type layout struct {
	Title string
	User  *patchwave.User
	Nav   string // the active navigation entry
}

// pages holds one template set per page: the shared layout plus the page.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every page with the layout. The templates are part of the
// binary, so a parse error is a bug and panics.
func parsePages(st *staticFiles) *pages {
	funcs := template.FuncMap{
		"static":    st.url,
		"ago":       ago,
		"timestamp": timestamp,
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"uptime":    uptime,
		"hostURL":   hostURL,
		"tierClass": func(t patchwave.Tier) string { return "tier-" + string(t) },
		"tierLabel": tierLabel,
		"osLabel":   osLabel,
		"osRelease": osRelease,
		"firstIP":   firstIP,
		"join":      strings.Join,
		"lower":     strings.ToLower,
		"plural":    plural,
		"initial":   initial,

		"findingHostURL": func(f patchwave.Finding) string {
			return hostURL(patchwave.Host{ID: f.HostID, Hostname: f.Host})
		},
		"advisoryURL": advisoryURL,
		"findingsURL": findingsURL,
		"sevClass":    func(s patchwave.Severity) string { return "sev sev-" + severityKey(s) },
		"sevLabel":    severityLabel,
		"cvss":        cvss,
		"epss":        epss,
		"date":        func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"number":      number,
		"interval":    interval,
		"firstN":      firstN,
		"afterN":      afterN,
		"cond": func(c bool, yes, no string) string {
			if c {
				return yes
			}
			return no
		},
		"redactURL": redactURL,
		"isCVE":     func(s string) bool { return strings.HasPrefix(s, "CVE-") },
		"pastDue":   func(t time.Time) bool { return !t.IsZero() && t.Before(now()) },

		"slaBadge":        slaBadge,
		"complianceBadge": complianceBadge,
		"approvalBadge":   approvalBadge,
		"riskClass":       riskClass,
		"riskPartLabel":   riskPartLabel,
		"score":           score,
		"tierSourceLabel": tierSourceLabel,
		"stateClass":      exceptionStateClass,
		"kindLabel":       kindLabel,
		"capitalize":      capitalize,
		"hostNameURL":     hostNameURL,
	}
	maps.Copy(funcs, rolloutFuncs)
	// The layout and the partials (files named _*.html), which pages share.
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
		"templates/layout.html", "templates/_*.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t := template.Must(base.Clone())
		template.Must(t.ParseFS(templateFS, n))
		p.byName[name] = t
	}
	return p
}

// render writes page name with data and status. The page is rendered to a
// buffer first, so a template error becomes a clean error page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := h.pages.byName[name]
	if !ok {
		panic("web: no page template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		h.log.ErrorContext(r.Context(), "web: render page", "page", name, "err", err)
		if name != "error" {
			h.renderError(w, r, fmt.Errorf("render %s: %w", name, err))
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// staticFiles are the embedded CSS, script and images, each with a content
// hash that versions its URL, so browsers may cache them for good.
type staticFiles struct {
	files map[string]staticFile
}

type staticFile struct {
	data  []byte
	hash  string
	ctype string
}

func loadStatic() *staticFiles {
	st := &staticFiles{files: map[string]staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		st.files[path.Base(p)] = staticFile{data: b, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return st
}

// url returns the versioned URL of a static file.
func (st *staticFiles) url(name string) (string, error) {
	f, ok := st.files[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + f.hash, nil
}

func (h *Handler) getStatic(w http.ResponseWriter, r *http.Request) error {
	return h.serveStatic(w, r, r.PathValue("file"))
}

func (h *Handler) getFavicon(w http.ResponseWriter, r *http.Request) error {
	return h.serveStatic(w, r, "favicon.svg")
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, name string) error {
	f, ok := h.static.files[name]
	if !ok {
		return patchwave.Errorf(patchwave.ENotFound, "There is no file %s.", name)
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	etag := `"` + f.hash + `"`
	hd.Set("ETag", etag)
	if r.URL.Query().Get("v") == f.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Length", strconv.Itoa(len(f.data)))
	if r.Method != http.MethodHead {
		w.Write(f.data)
	}
	return nil
}

// ago says how long before now t was, in words: "3 minutes ago".
func ago(t time.Time) string {
	d := now().Sub(t)
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
	case d < 2*365*24*time.Hour:
		s = plural(int(d/(30*24*time.Hour)), "month")
	default:
		s = plural(int(d/(365*24*time.Hour)), "year")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// timestamp formats t for people, in UTC.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// uptime formats a number of seconds as "12 days, 3 hours".
func uptime(sec int64) string {
	if sec <= 0 {
		return ""
	}
	d := time.Duration(sec) * time.Second
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	switch {
	case days > 0 && hours > 0:
		return plural(days, "day") + ", " + plural(hours, "hour")
	case days > 0:
		return plural(days, "day")
	case hours > 0:
		return plural(hours, "hour") + ", " + plural(mins, "minute")
	case mins > 0:
		return plural(mins, "minute")
	}
	return plural(int(sec), "second")
}

// plural writes n with its noun, adding an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// hostURL is the path of a host's page: by hostname, which reads well, unless
// the name is all digits and would be taken for an id.
func hostURL(h patchwave.Host) string {
	key := h.Hostname
	if key == "" || strings.Trim(key, "0123456789") == "" {
		key = strconv.FormatInt(h.ID, 10)
	}
	return "/hosts/" + url.PathEscape(key)
}

// tierLabel is the name of a tier as people say it.
func tierLabel(t patchwave.Tier) string {
	switch t {
	case patchwave.TierMissionCritical:
		return "Mission-critical"
	case patchwave.TierBusinessCritical:
		return "Business-critical"
	case patchwave.TierBusinessOperational:
		return "Business-operational"
	case patchwave.TierLab:
		return "Lab"
	}
	return string(t)
}

// osLabel names an OS as briefly as its facts allow.
func osLabel(o patchwave.OS) string {
	if o.Name != "" {
		return o.Name
	}
	return strings.TrimSpace(o.ID + " " + o.Version)
}

// osRelease is the os-release id, version and codename, "debian 12
// (bookworm)", leaving out what the OS name already says.
func osRelease(o patchwave.OS) string {
	s := strings.TrimSpace(o.ID + " " + o.Version)
	if o.Codename != "" && !strings.Contains(strings.ToLower(o.Name), strings.ToLower(o.Codename)) {
		s = strings.TrimSpace(s + " (" + o.Codename + ")")
	}
	return s
}

// ipSummary is a host's first address and how many more it has.
type ipSummary struct {
	IP   string
	More int
}

// firstIP returns a host's first address worth showing in a list, and how
// many more it has: loopback and link-local addresses are left out, unless
// there is nothing else.
func firstIP(h patchwave.Host) ipSummary {
	var all, useful []string
	for _, ip := range h.IPs() {
		all = append(all, ip)
		if a, err := netip.ParseAddr(ip); err == nil && (a.IsLoopback() || a.IsLinkLocalUnicast()) {
			continue
		}
		useful = append(useful, ip)
	}
	if len(useful) == 0 {
		useful = all
	}
	var v ipSummary
	if len(useful) > 0 {
		v.IP, v.More = useful[0], len(useful)-1
	}
	return v
}

// initial is the first letter of a name, for the avatar in the top bar.
func initial(s string) string {
	for _, r := range s {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// advisoryURL is the path of an advisory's page. Advisory ids may hold
// colons (ALSA-2026:7343), which paths allow, and, from a hostile feed,
// slashes or question marks, which are escaped.
func advisoryURL(id string) string { return "/advisories/" + url.PathEscape(id) }

// findingsURL is the findings list filtered by one field: findingsURL "cve" id.
func findingsURL(key, value string) string {
	return "/findings?" + url.Values{key: {value}}.Encode()
}

// severityKey is the CSS name of a severity; anything unknown is "unknown".
func severityKey(s patchwave.Severity) string {
	switch s {
	case patchwave.SeverityCritical, patchwave.SeverityHigh, patchwave.SeverityMedium, patchwave.SeverityLow,
		patchwave.SeverityNone:
		return string(s)
	}
	return "unknown"
}

// severityLabel is a severity as people write it: "Critical".
func severityLabel(s patchwave.Severity) string {
	k := severityKey(s)
	return strings.ToUpper(k[:1]) + k[1:]
}

// cvss formats a CVSS base score, or "" when there is none.
func cvss(score float64) string {
	if score <= 0 {
		return ""
	}
	return strconv.FormatFloat(score, 'f', 1, 64)
}

// epss formats an exploit probability (0 to 1) as a percentage with about
// two significant digits, or "" when there is none.
func epss(p float64) string {
	pc := p * 100
	switch {
	case p <= 0:
		return ""
	case pc < 0.01:
		return "<0.01%"
	case pc < 1:
		return strconv.FormatFloat(pc, 'f', 2, 64) + "%"
	case pc < 10:
		return strconv.FormatFloat(pc, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(pc, 'f', 0, 64) + "%"
}

// number writes n with thousands separators: 12,345.
func number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// firstN returns at most the first n items of list.
func firstN(n int, list []string) []string { return list[:min(n, len(list))] }

// afterN returns the items of list after the first n.
func afterN(n int, list []string) []string { return list[min(n, len(list)):] }

// redactURL hides the password of a URL that carries one, so that a feed's
// credentials do not show on the page.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		u.User = url.User("xxxxx")
	}
	return u.Redacted()
}
