package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
)

// Feeds is what the API needs to synchronise and import feeds; the server
// implements it.
type Feeds interface {
	// Sync fetches a feed's source now and imports it when it changed.
	Sync(ctx context.Context, name string) (patchwave.Feed, error)
	// Import reads a feed's data from path (a file the API received).
	// force lets a KEV or EPSS file replace a stored set more than twice
	// its size.
	Import(ctx context.Context, name, kind, path string, force bool) (patchwave.Feed, error)
}

// MaxFeedUpload bounds a feed file uploaded for import (an all.zip of
// every OSV record of a distribution is a few hundred megabytes).
const MaxFeedUpload = 2 << 30

type (
	feedT    = patchwave.Feed
	findingT = patchwave.Finding
	feedList struct {
		Feeds []feedT `json:"feeds"`
	}
	findingList struct {
		Findings []findingT `json:"findings"`
		Next     string     `json:"next"`
	}
	feedRequest struct {
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		URL      string `json:"url,omitempty"`
		Interval string `json:"interval,omitempty"` // a Go duration; default 6h for URLs
	}
	advisoryPage struct {
		Advisory json.RawMessage `json:"advisory"`
		Findings []findingT      `json:"findings"`
	}
	uploadBody struct{}
)

func requireOperator(u patchwave.User, what string) error {
	if u.Role != patchwave.RoleAdmin && u.Role != patchwave.RoleOperator {
		return patchwave.Errorf(patchwave.EForbidden, "role %s may not %s", u.Role, what)
	}
	return nil
}

func (a *API) listFeeds(w http.ResponseWriter, r *http.Request) error {
	fs, err := a.store.Feeds(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, feedList{Feeds: fs})
	return nil
}

func validFeedName(name string) error {
	if err := patchwave.ValidLabel("feed name", name); err != nil {
		return err
	}
	if strings.ContainsAny(name, "/?#") {
		return patchwave.Errorf(patchwave.EInvalid, "feed name %q contains /, ? or #", name)
	}
	return nil
}

func validKind(kind string) error {
	for _, k := range patchwave.FeedKinds {
		if k == kind {
			return nil
		}
	}
	return patchwave.Errorf(patchwave.EInvalid, "unknown feed kind %q (want %s)", kind, strings.Join(patchwave.FeedKinds, ", "))
}

func (a *API) putFeed(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "configure feeds"); err != nil {
		return err
	}
	var req feedRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	if err := validFeedName(req.Name); err != nil {
		return err
	}
	if err := validKind(req.Kind); err != nil {
		return err
	}
	if err := patchwave.ValidText("url", req.URL, 2048); err != nil {
		return err
	}
	f := patchwave.Feed{Name: req.Name, Kind: req.Kind, URL: req.URL}
	if req.URL != "" {
		ttl, err := parseTTL(req.Interval, 6*time.Hour, 30*24*time.Hour)
		if err != nil {
			return patchwave.Errorf(patchwave.EInvalid, "interval: %s", patchwave.ErrorMessage(err))
		}
		if ttl < time.Minute {
			return patchwave.Errorf(patchwave.EInvalid, "interval %s is under a minute", ttl)
		}
		f.Interval = int64(ttl.Seconds())
	}
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.PutFeed(f); err != nil {
			return err
		}
		return tx.Audit(u.Name, "feed.put", "feed:"+f.Name, map[string]any{"kind": f.Kind, "url": f.URL, "interval_seconds": f.Interval})
	})
	if err != nil {
		return err
	}
	f, err = a.store.Feed(r.Context(), f.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (a *API) deleteFeed(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "configure feeds"); err != nil {
		return err
	}
	name := r.PathValue("name")
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeleteFeed(name); err != nil {
			return err
		}
		return tx.Audit(u.Name, "feed.delete", "feed:"+name, nil)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) syncFeed(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "synchronise feeds"); err != nil {
		return err
	}
	if a.feeds == nil {
		return patchwave.Errorf(patchwave.ENotSupported, "feeds are not available on this server")
	}
	f, err := a.feeds.Sync(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		return tx.Audit(u.Name, "feed.sync", "feed:"+f.Name, map[string]any{"records": f.Records})
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// importFeed receives a feed file (raw body) and imports it.
func (a *API) importFeed(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "import feeds"); err != nil {
		return err
	}
	if a.feeds == nil {
		return patchwave.Errorf(patchwave.ENotSupported, "feeds are not available on this server")
	}
	name, kind := r.PathValue("name"), r.URL.Query().Get("kind")
	if err := validFeedName(name); err != nil {
		return err
	}
	force := false
	if s := r.URL.Query().Get("force"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return patchwave.Errorf(patchwave.EInvalid, "query parameter force=%q is not true or false", s)
		}
		force = b
	}
	if kind != "" {
		if err := validKind(kind); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp("", "patchwave-import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, http.MaxBytesReader(w, r.Body, MaxFeedUpload))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return patchwave.Errorf(patchwave.ETooLarge, "feed file is larger than the limit of %d bytes", mbe.Limit)
		}
		return patchwave.Errorf(patchwave.EInvalid, "receive feed file: %v", err)
	}
	if n == 0 {
		return patchwave.Errorf(patchwave.EInvalid, "feed file is empty")
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	f, err := a.feeds.Import(r.Context(), name, kind, tmp.Name(), force)
	if err != nil {
		return err
	}
	if err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		return tx.Audit(u.Name, "feed.import", "feed:"+name, map[string]any{"kind": f.Kind, "bytes": n, "records": f.Records, "skipped": f.Skipped, "force": force})
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// findingFilter reads a finding filter from query parameters.
func findingFilter(r *http.Request) (patchwave.FindingFilter, error) {
	q := r.URL.Query()
	f := patchwave.FindingFilter{Host: q.Get("host"), Site: q.Get("site"), CVE: q.Get("cve"), Package: q.Get("package"), Advisory: q.Get("advisory")}
	if t := q.Get("tier"); t != "" {
		tier, err := patchwave.ParseTier(t)
		if err != nil {
			return f, err
		}
		f.Tier = tier
	}
	if s := q.Get("severity"); s != "" {
		sev := patchwave.Severity(s)
		if sev.Rank() == 0 {
			return f, patchwave.Errorf(patchwave.EInvalid, "unknown severity %q (want critical, high, medium, low or none)", s)
		}
		f.Severity = sev
	}
	if s := q.Get("state"); s != "" {
		switch st := patchwave.FindingState(s); st {
		case patchwave.FindingMissing, patchwave.FindingNoFix, patchwave.FindingFixed, patchwave.FindingUnexpectedService:
			f.State = st
		default:
			return f, patchwave.Errorf(patchwave.EInvalid, "unknown state %q (want missing, no-fix, unexpected-service or fixed)", s)
		}
	}
	if s := q.Get("sla"); s != "" {
		switch patchwave.SLAStatus(s) {
		case patchwave.SLAOnTrack, patchwave.SLAAtRisk, patchwave.SLABreached:
			f.SLA = s
		default:
			return f, patchwave.Errorf(patchwave.EInvalid, "unknown sla %q (want on-track, at-risk or breached)", s)
		}
	}
	switch s := q.Get("sort"); s {
	case "", "id":
	case "risk":
		f.Sort = "risk"
	default:
		return f, patchwave.Errorf(patchwave.EInvalid, "unknown sort %q (want id or risk)", s)
	}
	for name, dst := range map[string]**bool{"kev": &f.KEV, "has_fix": &f.HasFix, "excepted": &f.Excepted} {
		if s := q.Get(name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return f, patchwave.Errorf(patchwave.EInvalid, "query parameter %s=%q is not true or false", name, s)
			}
			*dst = &b
		}
	}
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return f, err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return f, err
	}
	if limit > 1000 {
		return f, patchwave.Errorf(patchwave.EInvalid, "limit=%d is over the maximum of 1000", limit)
	}
	f.After, f.Limit = after, int(limit)
	if f.Sort == "risk" { // pages are offsets when sorted by risk
		f.Offset, f.After = int(min(after, 1<<31)), 0
	}
	for name, v := range map[string]string{"host": f.Host, "site": f.Site, "cve": f.CVE, "package": f.Package, "advisory": f.Advisory} {
		if err := patchwave.ValidText(name, v, 256); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (a *API) listFindings(w http.ResponseWriter, r *http.Request) error {
	f, err := findingFilter(r)
	if err != nil {
		return err
	}
	fs, next, err := a.store.ListFindings(r.Context(), f)
	if err != nil {
		return err
	}
	a.enrich(r, fs)
	out := findingList{Findings: fs}
	if next > 0 {
		out.Next = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// enrich fills in the catalogue entries of known exploited findings; a
// failure leaves them as bare markers.
func (a *API) enrich(r *http.Request, fs []patchwave.Finding) { _ = a.store.FillKEV(r.Context(), fs) }

func (a *API) hostFindings(w http.ResponseWriter, r *http.Request) error {
	h, err := a.store.Host(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	f, err := findingFilter(r)
	if err != nil {
		return err
	}
	f.Host, f.Limit = strconv.FormatInt(h.ID, 10), 1000
	var all []patchwave.Finding
	for {
		fs, next, err := a.store.ListFindings(r.Context(), f)
		if err != nil {
			return err
		}
		all = append(all, fs...)
		if next == 0 {
			break
		}
		f.After = next
	}
	if all == nil {
		all = []patchwave.Finding{}
	}
	a.enrich(r, all)
	writeJSON(w, http.StatusOK, findingList{Findings: all})
	return nil
}

func (a *API) getAdvisory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	bodies, err := a.store.AdvisoriesByID(r.Context(), []string{id})
	if err != nil {
		return err
	}
	body, ok := bodies[id]
	if !ok {
		return patchwave.Errorf(patchwave.ENotFound, "advisory %q not found", id)
	}
	fs, _, err := a.store.ListFindings(r.Context(), patchwave.FindingFilter{Advisory: id, Limit: 1000})
	if err != nil {
		return err
	}
	a.enrich(r, fs)
	writeJSON(w, http.StatusOK, advisoryPage{Advisory: body, Findings: fs})
	return nil
}
