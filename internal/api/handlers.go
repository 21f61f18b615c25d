package api

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/auth"
	"github.com/patchwave/patchwave/internal/store"
)

// Names of the root package's types as they appear in the OpenAPI document.
type (
	hostT            = patchwave.Host
	packageT         = patchwave.Package
	hostUpdateT      = patchwave.HostUpdate
	enrollTokenT     = patchwave.EnrollToken
	apiTokenT        = patchwave.APIToken
	userT            = patchwave.User
	auditT           = patchwave.AuditEvent
	enrollRequestT   = patchwave.EnrollRequest
	enrollResponseT  = patchwave.EnrollResponse
	checkinRequestT  = patchwave.CheckinRequest
	checkinResponseT = patchwave.CheckinResponse
)

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string         `json:"token"`
	User      patchwave.User `json:"user"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// LoginTTL is how long a CLI login lasts.
const LoginTTL = 30 * 24 * time.Hour

// CheckLogin verifies a user's name and password. The same error answers
// an unknown user, a wrong password and a disabled account.
func CheckLogin(ctx context.Context, s *store.Store, lim *Limits, name, password, client string) (patchwave.User, error) {
	now := s.Now()
	if err := lim.checkLogin(name, client, now); err != nil {
		return patchwave.User{}, err
	}
	u, hash, err := s.UserByName(ctx, name)
	if patchwave.ErrorCode(err) == patchwave.ENotFound {
		auth.CheckPassword(dummyHash, password) // spend the same time as a real check
		lim.loginFailed(name, client, now)
		return u, patchwave.Errorf(patchwave.EUnauthorized, "wrong user name or password")
	}
	if err != nil {
		return u, err
	}
	if !auth.CheckPassword(hash, password) || u.Disabled {
		lim.loginFailed(name, client, now)
		return u, patchwave.Errorf(patchwave.EUnauthorized, "wrong user name or password")
	}
	lim.loginSucceeded(name)
	return u, nil
}

var dummyHash, _ = auth.HashPassword("timing equaliser")

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	u, err := CheckLogin(r.Context(), a.store, a.limits, req.User, req.Password, clientAddr(r))
	if err != nil {
		setRetryAfter(w, err)
		return err
	}
	tok, hash := auth.NewToken(auth.PrefixAPI)
	exp := a.store.Now().Add(LoginTTL).UTC()
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		if _, err := tx.CreateToken(u.ID, store.KindAPI, "login", auth.Display(tok), hash, &exp); err != nil {
			return err
		}
		return tx.Audit(u.Name, "user.login", "user:"+u.Name, nil)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: tok, User: u, ExpiresAt: exp})
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, user(r))
	return nil
}

// hostFilter reads a host filter from query parameters.
func hostFilter(r *http.Request) (patchwave.HostFilter, error) {
	q := r.URL.Query()
	f := patchwave.HostFilter{Site: q.Get("site"), Tag: q.Get("tag"), OS: q.Get("os"), Query: q.Get("q")}
	if t := q.Get("tier"); t != "" {
		tier, err := patchwave.ParseTier(t)
		if err != nil {
			return f, err
		}
		f.Tier = tier
	}
	if s := q.Get("eol"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return f, patchwave.Errorf(patchwave.EInvalid, "query parameter eol=%q is not true or false", s)
		}
		f.EOL = &b
	}
	if s := q.Get("stale"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return f, patchwave.Errorf(patchwave.EInvalid, "query parameter stale=%q is not true or false", s)
		}
		f.Stale = &b
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
	for name, v := range map[string]string{"site": f.Site, "tag": f.Tag, "os": f.OS, "q": f.Query} {
		if err := patchwave.ValidText(name, v, 256); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (a *API) listHosts(w http.ResponseWriter, r *http.Request) error {
	f, err := hostFilter(r)
	if err != nil {
		return err
	}
	hosts, next, err := a.store.ListHosts(r.Context(), f)
	if err != nil {
		return err
	}
	out := hostList{Hosts: hosts}
	if next > 0 {
		out.Next = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getHost(w http.ResponseWriter, r *http.Request) error {
	h, err := a.store.Host(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (a *API) hostPackages(w http.ResponseWriter, r *http.Request) error {
	h, err := a.store.Host(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	ps, err := a.store.HostPackages(r.Context(), h.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, packageList{Packages: ps})
	return nil
}

// canWrite refuses a change to an object at site by a user who may not make it.
func canWrite(u patchwave.User, site, what string) error {
	if u.CanWrite(site) {
		return nil
	}
	if u.Role == patchwave.RoleSiteAdmin {
		if site == "" {
			return patchwave.Errorf(patchwave.EForbidden, "%s belongs to no site: site admins may change only their sites' (%s)", what, strings.Join(u.Sites, ", "))
		}
		return patchwave.Errorf(patchwave.EForbidden, "%s is at site %q: you manage only %s", what, site, strings.Join(u.Sites, ", "))
	}
	return patchwave.Errorf(patchwave.EForbidden, "role %s may not change %s", u.Role, what)
}

func (a *API) updateHost(w http.ResponseWriter, r *http.Request) error {
	var upd patchwave.HostUpdate
	if err := decode(w, r, MaxBody, &upd); err != nil {
		return err
	}
	if _, err := a.UpdateHost(r.Context(), user(r), r.PathValue("host"), upd); err != nil {
		return err
	}
	return a.getHost(w, r)
}

// UpdateHost changes the editable fields of the host named by key (its id
// or hostname) on behalf of u, when u may change that host and put it at
// its new site, records the change in the audit trail, and returns the
// host as it is now. The API's PATCH and the web UI's host form both go
// through it.
func (a *API) UpdateHost(ctx context.Context, u patchwave.User, key string, upd patchwave.HostUpdate) (patchwave.Host, error) {
	if err := upd.Validate(); err != nil {
		return patchwave.Host{}, err
	}
	var hostID int64
	err := a.store.Write(ctx, func(tx *store.Tx) error {
		before, after, err := tx.UpdateHost(key, upd)
		if err != nil {
			return err
		}
		if err := canWrite(u, before.Site, "host "+before.Hostname); err != nil {
			return err
		}
		if err := canWrite(u, after.Site, "site "+after.Site); after.Site != before.Site && err != nil {
			return err
		}
		hostID = before.ID
		return tx.Audit(u.Name, "host.update", "host:"+before.Hostname, map[string]any{"before": editable(before), "after": editable(after)})
	})
	if err != nil {
		return patchwave.Host{}, err
	}
	if a.onInventory != nil {
		a.onInventory(hostID) // its tier and exposure weigh on its findings
	}
	return a.store.Host(ctx, strconv.FormatInt(hostID, 10))
}

func editable(h patchwave.Host) map[string]any {
	return map[string]any{"site": h.Site, "tier": h.Tier, "owner": h.Owner, "tags": h.Tags, "high_exposure": h.HighExposure}
}

func (a *API) revokeHost(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		h, err := tx.RevokeHost(r.PathValue("host"))
		if err != nil {
			return err
		}
		if err := canWrite(u, h.Site, "host "+h.Hostname); err != nil {
			return err
		}
		return tx.Audit(u.Name, "host.revoke", "host:"+h.Hostname, nil)
	})
	if err != nil {
		return err
	}
	return a.getHost(w, r)
}

func (a *API) deleteHost(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		h, err := tx.DeleteHost(r.PathValue("host"))
		if err != nil {
			return err
		}
		if err := canWrite(u, h.Site, "host "+h.Hostname); err != nil {
			return err
		}
		return tx.Audit(u.Name, "host.delete", "host:"+h.Hostname, editable(h))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type csvBody struct{}

type importResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// MaxImportRows bounds one CSV import.
const MaxImportRows = 100_000

// ParseAssets reads an asset CSV: a header row naming the columns
// (hostname is required; ip, os, site, tier, owner, tags, fqdn, mac are
// optional, in any order), then one host per row. Errors name the row.
func ParseAssets(r io.Reader) ([]store.Asset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, patchwave.Errorf(patchwave.EInvalid, "CSV is empty: want a header row with at least hostname")
	}
	if err != nil {
		return nil, patchwave.Errorf(patchwave.EInvalid, "CSV header: %v", err)
	}
	col := map[string]int{}
	known := []string{"hostname", "ip", "os", "site", "tier", "owner", "tags", "fqdn", "mac"}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(known, h) {
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV header: unknown column %q (known: %s)", h, strings.Join(known, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV header: column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["hostname"]; !ok {
		return nil, patchwave.Errorf(patchwave.EInvalid, "CSV header: the hostname column is missing")
	}
	var out []store.Asset
	seen := map[string]int{}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, patchwave.Errorf(patchwave.ETooLarge, "CSV is larger than the limit of %d bytes", mbe.Limit)
			}
			if errors.As(err, &pe) && !errors.As(pe.Err, &mbe) {
				return nil, patchwave.Errorf(patchwave.EInvalid, "CSV row %d: %v", pe.StartLine, pe.Err)
			}
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV row %d: %v", row, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV row %d (line %d): %d fields, the header has %d", row, line, len(rec), len(header))
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		a := store.Asset{Hostname: get("hostname"), FQDN: get("fqdn"), IP: get("ip"), MAC: get("mac"), OS: get("os"),
			Site: get("site"), Owner: get("owner")}
		if err := validAsset(&a, get("tier"), get("tags")); err != nil {
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV row %d (line %d): %s", row, line, patchwave.ErrorMessage(err))
		}
		if prev, dup := seen[a.Hostname]; dup {
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV row %d (line %d): hostname %q already on row %d", row, line, a.Hostname, prev)
		}
		seen[a.Hostname] = row
		if len(out) >= MaxImportRows {
			return nil, patchwave.Errorf(patchwave.EInvalid, "CSV has more than %d rows: split it", MaxImportRows)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, patchwave.Errorf(patchwave.EInvalid, "CSV has a header but no rows")
	}
	return out, nil
}

func validAsset(a *store.Asset, tier, tags string) error {
	if err := patchwave.ValidHostname(a.Hostname); err != nil {
		return err
	}
	if tier != "" {
		t, err := patchwave.ParseTier(tier)
		if err != nil {
			return err
		}
		a.Tier = t
	}
	if a.Site != "" {
		if err := patchwave.ValidLabel("site", a.Site); err != nil {
			return err
		}
	}
	ts, err := patchwave.NormalizeTags(patchwave.SplitList(tags))
	if err != nil {
		return err
	}
	a.Tags = ts
	if a.IP != "" {
		ips, err := parseIPs(a.IP)
		if err != nil {
			return err
		}
		a.IP = ips
	}
	for name, v := range map[string]string{"fqdn": a.FQDN, "ip": a.IP, "mac": a.MAC, "os": a.OS, "owner": a.Owner} {
		if err := patchwave.ValidText(name, v, 256); err != nil {
			return err
		}
	}
	return nil
}

// parseIPs reads the ip column of an asset CSV: addresses or prefixes
// (10.0.0.5, 10.0.0.5/24, fe80::1), several separated by ";" or ",". It
// returns them in their canonical spelling, separated by ",".
func parseIPs(s string) (string, error) {
	var out []string
	for _, f := range patchwave.SplitList(strings.ReplaceAll(s, ";", ",")) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.String())
			continue
		}
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return "", patchwave.Errorf(patchwave.EInvalid, "ip %q is not an IP address like 10.0.0.5, 10.0.0.5/24 or fe80::1", f)
		}
		out = append(out, ip.String())
	}
	return strings.Join(out, ","), nil
}

func (a *API) importHosts(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, "text/plain") {
		return patchwave.Errorf(patchwave.EInvalid, "Content-Type is %q, want text/csv", ct)
	}
	assets, err := ParseAssets(http.MaxBytesReader(w, r.Body, MaxImport))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return patchwave.Errorf(patchwave.ETooLarge, "CSV is larger than the limit of %d bytes", MaxImport)
		}
		return err
	}
	u := user(r)
	if u.Role != patchwave.RoleSiteAdmin {
		if err := canWrite(u, "", "hosts"); err != nil {
			return err
		}
	}
	var res importResult
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		if u.Role == patchwave.RoleSiteAdmin {
			if err := siteAdminImport(tx, u, assets); err != nil {
				return err
			}
		}
		var err error
		res.Created, res.Updated, err = tx.ImportAssets(assets)
		if err != nil {
			return err
		}
		return tx.Audit(u.Name, "host.import", fmt.Sprintf("hosts:%d", len(assets)), res)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// siteAdminImport refuses an import by a site admin that changes a host of
// another site, or puts a host at another site. A row without a site keeps
// the stored host's, so it is judged by that.
func siteAdminImport(tx *store.Tx, u patchwave.User, assets []store.Asset) error {
	for i, as := range assets {
		site := as.Site
		h, err := tx.HostRef(as.Hostname)
		switch {
		case err == nil:
			if err := canWrite(u, h.Site, "host "+h.Hostname); err != nil {
				return patchwave.Errorf(patchwave.EForbidden, "CSV row %d: %s", i+2, patchwave.ErrorMessage(err))
			}
			if site == "" {
				site = h.Site
			}
		case patchwave.ErrorCode(err) != patchwave.ENotFound:
			return err
		}
		if !u.CanWrite(site) {
			if site == "" {
				return patchwave.Errorf(patchwave.EForbidden, "CSV row %d: host %s belongs to no site: give it one of yours (%s)",
					i+2, as.Hostname, strings.Join(u.Sites, ", "))
			}
			return patchwave.Errorf(patchwave.EForbidden, "CSV row %d: site %q of host %s is not one of yours (%s)",
				i+2, site, as.Hostname, strings.Join(u.Sites, ", "))
		}
	}
	return nil
}

type enrollTokenRequest struct {
	Site      string   `json:"site,omitempty"`
	Tier      string   `json:"tier,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	MaxUses   int      `json:"max_uses,omitempty"`
	ExpiresIn string   `json:"expires_in,omitempty"` // a Go duration: 24h, 168h
	// AllowReenroll lets the token take over hosts whose agent is enrolled.
	AllowReenroll bool `json:"allow_reenroll,omitempty"`
	// HighExposure marks the hosts that enroll with it high-exposure.
	HighExposure bool `json:"high_exposure,omitempty"`
}

// DefaultEnrollTTL is how long an enrollment token lasts unless told.
const DefaultEnrollTTL = 7 * 24 * time.Hour

func parseTTL(s string, def, max time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, patchwave.Errorf(patchwave.EInvalid, "expires_in %q is not a positive duration like 24h or 168h", s)
	}
	if d > max {
		return 0, patchwave.Errorf(patchwave.EInvalid, "expires_in %s is longer than the maximum of %s", d, max)
	}
	return d, nil
}

func (a *API) createEnrollToken(w http.ResponseWriter, r *http.Request) error {
	var req enrollTokenRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	t := patchwave.EnrollToken{Site: req.Site, MaxUses: req.MaxUses, CreatedBy: user(r).Name, AllowReenroll: req.AllowReenroll,
		HighExposure: req.HighExposure}
	if req.Site != "" {
		if err := patchwave.ValidLabel("site", req.Site); err != nil {
			return err
		}
	}
	if req.Tier != "" {
		tier, err := patchwave.ParseTier(req.Tier)
		if err != nil {
			return err
		}
		t.Tier = tier
	}
	tags, err := patchwave.NormalizeTags(req.Tags)
	if err != nil {
		return err
	}
	t.Tags = tags
	if req.MaxUses < 0 || req.MaxUses > 1_000_000 {
		return patchwave.Errorf(patchwave.EInvalid, "max_uses %d is out of range 0..1000000 (0: unlimited)", req.MaxUses)
	}
	ttl, err := parseTTL(req.ExpiresIn, DefaultEnrollTTL, patchwave.MaxEnrollTTL)
	if err != nil {
		return err
	}
	u := user(r)
	if err := canWrite(u, t.Site, "enrollment tokens for site "+t.Site); err != nil {
		return err
	}
	tok, hash := auth.NewToken(auth.PrefixEnroll)
	t.Prefix = auth.Display(tok)
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		t.ExpiresAt = tx.Now().Add(ttl).UTC().Truncate(time.Millisecond)
		var err error
		if t, err = tx.CreateEnrollToken(t, hash); err != nil {
			return err
		}
		return tx.Audit(u.Name, "enroll_token.create", fmt.Sprintf("enroll_token:%d", t.ID),
			map[string]any{"site": t.Site, "tier": t.Tier, "tags": t.Tags, "max_uses": t.MaxUses, "expires_at": t.ExpiresAt,
				"allow_reenroll": t.AllowReenroll, "high_exposure": t.HighExposure})
	})
	if err != nil {
		return err
	}
	t.Token = tok
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) listEnrollTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.store.ListEnrollTokens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, enrollTokenList{EnrollTokens: ts})
	return nil
}

func pathID(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, patchwave.Errorf(patchwave.EInvalid, "%s %q is not a positive number", name, r.PathValue(name))
	}
	return v, nil
}

func (a *API) revokeEnrollToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u := user(r)
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		t, err := tx.RevokeEnrollToken(id)
		if err != nil {
			return err
		}
		// Site admins revoke the tokens of their sites, as they create them.
		if err := canWrite(u, t.Site, fmt.Sprintf("enrollment token %d", id)); err != nil {
			return err
		}
		return tx.Audit(u.Name, "enroll_token.revoke", fmt.Sprintf("enroll_token:%d", id), map[string]any{"site": t.Site})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tokenRequest struct {
	Name      string `json:"name"`
	ExpiresIn string `json:"expires_in,omitempty"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	if err := patchwave.ValidLabel("name", req.Name); err != nil {
		return err
	}
	var exp *time.Time
	if req.ExpiresIn != "" {
		d, err := parseTTL(req.ExpiresIn, 0, 10*365*24*time.Hour)
		if err != nil {
			return err
		}
		t := a.store.Now().Add(d).UTC().Truncate(time.Millisecond)
		exp = &t
	}
	u := user(r)
	tok, hash := auth.NewToken(auth.PrefixAPI)
	var t patchwave.APIToken
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		if t, err = tx.CreateToken(u.ID, store.KindAPI, req.Name, auth.Display(tok), hash, exp); err != nil {
			return err
		}
		return tx.Audit(u.Name, "token.create", fmt.Sprintf("token:%d", t.ID), map[string]any{"name": req.Name})
	})
	if err != nil {
		return err
	}
	t.Token, t.UserName = tok, u.Name
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	id := u.ID
	if u.Role == patchwave.RoleAdmin {
		id = 0
	}
	ts, err := a.store.ListTokens(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenList{Tokens: ts})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u := user(r)
	owner := u.ID
	if u.Role == patchwave.RoleAdmin {
		owner = 0
	}
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.RevokeToken(id, owner, store.KindAPI); err != nil {
			return err
		}
		return tx.Audit(u.Name, "token.revoke", fmt.Sprintf("token:%d", id), nil)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type userRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Role     string   `json:"role"`
	Sites    []string `json:"sites,omitempty"`
}

type userChangeRequest struct {
	Role     *string   `json:"role,omitempty"`
	Sites    *[]string `json:"sites,omitempty"`
	Password *string   `json:"password,omitempty"`
	Disabled *bool     `json:"disabled,omitempty"`
}

func requireAdmin(u patchwave.User) error {
	if u.Role != patchwave.RoleAdmin {
		return patchwave.Errorf(patchwave.EForbidden, "only admins manage users (you are %s)", u.Role)
	}
	return nil
}

func validSites(role patchwave.Role, sites []string) ([]string, error) {
	out, err := patchwave.NormalizeTags(sites)
	if err != nil {
		return nil, patchwave.Errorf(patchwave.EInvalid, "sites: %s", patchwave.ErrorMessage(err))
	}
	if role == patchwave.RoleSiteAdmin && len(out) == 0 {
		return nil, patchwave.Errorf(patchwave.EInvalid, "a site-admin needs at least one site")
	}
	return out, nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireAdmin(u); err != nil {
		return err
	}
	var req userRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	if err := patchwave.ValidLabel("user name", req.Name); err != nil {
		return err
	}
	role, err := patchwave.ParseRole(req.Role)
	if err != nil {
		return err
	}
	sites, err := validSites(role, req.Sites)
	if err != nil {
		return err
	}
	if err := auth.CheckPasswordRules(req.Password); err != nil {
		return err
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		return err
	}
	var nu patchwave.User
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		if nu, err = tx.CreateUser(patchwave.User{Name: req.Name, Role: role, Sites: sites}, hash); err != nil {
			return err
		}
		return tx.Audit(u.Name, "user.create", "user:"+nu.Name, map[string]any{"role": role, "sites": sites})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, nu)
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := a.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userList{Users: us})
	return nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireAdmin(u); err != nil {
		return err
	}
	var req userChangeRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	var c store.UserChange
	if req.Role != nil {
		role, err := patchwave.ParseRole(*req.Role)
		if err != nil {
			return err
		}
		c.Role = &role
	}
	if req.Password != nil {
		if err := auth.CheckPasswordRules(*req.Password); err != nil {
			return err
		}
		h, err := auth.HashPassword(*req.Password)
		if err != nil {
			return err
		}
		c.PasswordHash = &h
	}
	c.Disabled = req.Disabled
	name := r.PathValue("name")
	var after patchwave.User
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		var before patchwave.User
		var err error
		if req.Sites != nil {
			s := *req.Sites
			c.Sites = &s
		}
		before, after, err = tx.UpdateUser(name, c)
		if err != nil {
			return err
		}
		if _, err := validSites(after.Role, after.Sites); err != nil {
			return err
		}
		if before.Name == u.Name && (after.Role != patchwave.RoleAdmin || after.Disabled) {
			return patchwave.Errorf(patchwave.EConflict, "you cannot demote or disable yourself")
		}
		detail := map[string]any{"role": after.Role, "sites": after.Sites, "disabled": after.Disabled, "password_changed": c.PasswordHash != nil}
		return tx.Audit(u.Name, "user.update", "user:"+name, detail)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, after)
	return nil
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if u.Role == patchwave.RoleViewer {
		return patchwave.Errorf(patchwave.EForbidden, "viewers may not read the audit trail")
	}
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	evs, err := a.store.ListAudit(r.Context(), before, int(limit))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditList{Events: evs})
	return nil
}
