package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// SetStaleAfter sets how long a managed host may go unseen before it is stale.
func (s *Store) SetStaleAfter(d time.Duration) { s.staleAfter = d }

const hostCols = `h.id, h.hostname, h.fqdn, h.site, h.tier, h.owner, h.tags, h.os_family, h.os_id, h.os_name,
	h.os_version, h.os_codename, h.kernel, h.arch, h.uptime, h.services, h.facts_hash, h.managed, h.agent_version,
	h.enrolled_at, h.last_seen_at, h.revoked_at, h.created_at, h.updated_at, COALESCE(p.count, 0), COALESCE(p.hash, ''), h.os_eol, h.pro,
	h.tier_source, h.high_exposure, h.compliance, h.assessed_at, h.exposure_source, h.tier_rule, h.exposure_rule`

const hostFrom = ` FROM hosts h LEFT JOIN package_sets p ON p.id = h.package_set_id`

func (s *Store) scanHost(sc interface{ Scan(...any) error }) (patchwave.Host, error) {
	var h patchwave.Host
	var tags, services string
	var managed, pro, exposure int
	var enrolled, seen, revoked, eol, assessed, tierRule, exposureRule sql.NullInt64
	var created, updated int64
	err := sc.Scan(&h.ID, &h.Hostname, &h.FQDN, &h.Site, &h.Tier, &h.Owner, &tags, &h.OS.Family, &h.OS.ID, &h.OS.Name,
		&h.OS.Version, &h.OS.Codename, &h.Kernel, &h.Arch, &h.Uptime, &services, &h.FactsHash, &managed, &h.AgentVersion,
		&enrolled, &seen, &revoked, &created, &updated, &h.PackageCount, &h.PackagesHash, &eol, &pro,
		&h.TierSource, &exposure, &h.Compliance, &assessed, &h.ExposureSource, &tierRule, &exposureRule)
	if err != nil {
		return h, err
	}
	h.TierRule, h.ExposureRule = tierRule.Int64, exposureRule.Int64
	_ = json.Unmarshal([]byte(tags), &h.Tags)
	_ = json.Unmarshal([]byte(services), &h.Services)
	h.Tags, h.Services = nonNil(h.Tags), nonNil(h.Services)
	h.Interfaces = []patchwave.Interface{}
	h.Managed, h.Revoked = managed != 0, revoked.Valid
	h.EnrolledAt, h.LastSeenAt = fromNullMS(enrolled), fromNullMS(seen)
	h.CreatedAt, h.UpdatedAt = fromMS(created), fromMS(updated)
	h.Stale = h.Managed && patchwave.Stale(h.LastSeenAt, s.now(), s.staleAfter)
	h.OSEOL, h.Pro = fromNullMS(eol), pro != 0
	h.HighExposure, h.AssessedAt = exposure != 0, fromNullMS(assessed)
	h.PastEOL = h.OSEOL != nil && !s.now().Before(*h.OSEOL)
	return h, nil
}

// hostWhere builds the WHERE clause of a host filter.
func (s *Store) hostWhere(f patchwave.HostFilter) (string, []any) {
	var conds []string
	var args []any
	if f.Site != "" {
		conds, args = append(conds, "h.site = ?"), append(args, f.Site)
	}
	if f.Tier != "" {
		conds, args = append(conds, "h.tier = ?"), append(args, string(f.Tier))
	}
	if f.Tag != "" {
		b, _ := json.Marshal(f.Tag)
		conds, args = append(conds, "h.tags LIKE ?"), append(args, "%"+likeEscape(string(b))+"%")
	}
	if f.OS != "" {
		if id, ver, ok := strings.Cut(f.OS, ":"); ok {
			conds, args = append(conds, "(LOWER(h.os_id) = LOWER(?) AND h.os_version = ?)"), append(args, id, ver)
		} else {
			conds, args = append(conds, "(LOWER(h.os_id) = LOWER(?) OR LOWER(h.os_family) = LOWER(?) OR LOWER(h.os_name) LIKE LOWER(?))"),
				append(args, f.OS, f.OS, "%"+likeEscape(f.OS)+"%")
		}
	}
	if f.Stale != nil {
		cutoff := ms_(s.now().Add(-s.staleAfter))
		if *f.Stale {
			conds, args = append(conds, "(h.managed = 1 AND h.last_seen_at < ?)"), append(args, cutoff)
		} else {
			conds, args = append(conds, "NOT (h.managed = 1 AND h.last_seen_at < ?)"), append(args, cutoff)
		}
	}
	if f.EOL != nil {
		if *f.EOL {
			conds, args = append(conds, "h.os_eol <= ?"), append(args, ms_(s.now()))
		} else {
			conds, args = append(conds, "(h.os_eol IS NULL OR h.os_eol > ?)"), append(args, ms_(s.now()))
		}
	}
	if f.Query != "" {
		q := "%" + likeEscape(strings.ToLower(f.Query)) + "%"
		conds = append(conds, `(LOWER(h.hostname) LIKE ? OR LOWER(h.fqdn) LIKE ? OR LOWER(h.owner) LIKE ?
			OR EXISTS (SELECT 1 FROM host_interfaces i WHERE i.host_id = h.id AND (i.ips LIKE ? OR LOWER(i.mac) LIKE ?)))`)
		args = append(args, q, q, q, q, q)
	}
	if f.After > 0 {
		conds, args = append(conds, "h.id > ?"), append(args, f.After)
	}
	if len(conds) == 0 {
		return "", nil
	}
	for i := range conds {
		if strings.Contains(conds[i], "LIKE") {
			conds[i] = strings.ReplaceAll(conds[i], "LIKE ?", `LIKE ? ESCAPE '\'`)
		}
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListHosts returns a page of hosts matching f in id order, and the cursor
// for the next page (0 when this is the last).
func (s *Store) ListHosts(ctx context.Context, f patchwave.HostFilter) ([]patchwave.Host, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	where, args := s.hostWhere(f)
	rows, err := s.query(ctx, `SELECT `+hostCols+hostFrom+where+` ORDER BY h.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list hosts: %w", err)
	}
	defer rows.Close()
	hosts := []patchwave.Host{}
	for rows.Next() {
		h, err := s.scanHost(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list hosts: %w", err)
		}
		hosts = append(hosts, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list hosts: %w", err)
	}
	var next int64
	if len(hosts) > limit {
		hosts = hosts[:limit]
		next = hosts[limit-1].ID
	}
	if err := s.loadInterfaces(ctx, hosts); err != nil {
		return nil, 0, err
	}
	return hosts, next, nil
}

// CountHosts counts hosts matching f (its cursor and limit ignored).
func (s *Store) CountHosts(ctx context.Context, f patchwave.HostFilter) (int, error) {
	f.After, f.Limit = 0, 0
	where, args := s.hostWhere(f)
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM hosts h`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count hosts: %w", err)
	}
	return n, nil
}

func (s *Store) loadInterfaces(ctx context.Context, hosts []patchwave.Host) error {
	if len(hosts) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(hosts))
	ph := make([]string, len(hosts))
	args := make([]any, len(hosts))
	for i, h := range hosts {
		idx[h.ID], ph[i], args[i] = i, "?", h.ID
	}
	rows, err := s.query(ctx, `SELECT host_id, name, mac, ips FROM host_interfaces WHERE host_id IN (`+strings.Join(ph, ",")+`) ORDER BY host_id, name`, args...)
	if err != nil {
		return fmt.Errorf("load interfaces: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var in patchwave.Interface
		var ips string
		if err := rows.Scan(&id, &in.Name, &in.MAC, &ips); err != nil {
			return fmt.Errorf("load interfaces: %w", err)
		}
		_ = json.Unmarshal([]byte(ips), &in.IPs)
		hosts[idx[id]].Interfaces = append(hosts[idx[id]].Interfaces, in)
	}
	return rows.Err()
}

// Host returns the host named by key: its numeric id or its hostname.
func (s *Store) Host(ctx context.Context, key string) (patchwave.Host, error) {
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		// A numeric key is an id, or else a hostname made of digits.
		return s.host(ctx, key, `SELECT `+hostCols+hostFrom+` WHERE h.id = ? OR h.hostname = ? ORDER BY h.id = ? DESC LIMIT 1`, id, key, id)
	}
	return s.host(ctx, key, `SELECT `+hostCols+hostFrom+` WHERE h.hostname = ?`, key)
}

func (s *Store) host(ctx context.Context, key, q string, args ...any) (patchwave.Host, error) {
	h, err := s.scanHost(s.queryRow(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return h, patchwave.Errorf(patchwave.ENotFound, "host %q not found", key)
	}
	if err != nil {
		return h, fmt.Errorf("host %s: %w", key, err)
	}
	hs := []patchwave.Host{h}
	if err := s.loadInterfaces(ctx, hs); err != nil {
		return h, err
	}
	return hs[0], nil
}

// HostPackages returns the installed packages of a host, sorted.
func (s *Store) HostPackages(ctx context.Context, id int64) ([]patchwave.Package, error) {
	var body []byte
	err := s.queryRow(ctx, `SELECT COALESCE(p.body, ?) FROM hosts h LEFT JOIN package_sets p ON p.id = h.package_set_id WHERE h.id = ?`, []byte{}, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, patchwave.Errorf(patchwave.ENotFound, "host %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("host %d packages: %w", id, err)
	}
	return patchwave.DecodePackages(body)
}

// PackageSet returns the packages of the stored set with this hash.
func (s *Store) PackageSet(ctx context.Context, hash string) ([]patchwave.Package, error) {
	var body []byte
	err := s.queryRow(ctx, `SELECT body FROM package_sets WHERE hash = ?`, hash).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, patchwave.Errorf(patchwave.ENotFound, "package set %.12s not found", hash)
	}
	if err != nil {
		return nil, fmt.Errorf("package set %.12s: %w", hash, err)
	}
	return patchwave.DecodePackages(body)
}

// Facets returns the distinct sites and tags in use, sorted.
func (s *Store) Facets(ctx context.Context) (sites, tags []string, err error) {
	rows, err := s.query(ctx, `SELECT DISTINCT site FROM hosts WHERE site <> '' ORDER BY site`)
	if err != nil {
		return nil, nil, fmt.Errorf("facets: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, nil, err
		}
		sites = append(sites, v)
	}
	rows.Close()
	rows, err = s.query(ctx, `SELECT DISTINCT tags FROM hosts WHERE tags <> '[]'`)
	if err != nil {
		return nil, nil, fmt.Errorf("facets: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, nil, err
		}
		var ts []string
		_ = json.Unmarshal([]byte(v), &ts)
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	slicesSort(tags)
	return sites, tags, rows.Err()
}

// hostForUpdate reads a host inside a write transaction.
func (tx *Tx) hostForUpdate(key string) (patchwave.Host, error) {
	var id int64
	var err error
	if n, perr := strconv.ParseInt(key, 10, 64); perr == nil {
		err = tx.queryRow(`SELECT id FROM hosts WHERE id = ? OR hostname = ? ORDER BY id = ? DESC LIMIT 1`, n, key, n).Scan(&id)
	} else {
		err = tx.queryRow(`SELECT id FROM hosts WHERE hostname = ?`, key).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return patchwave.Host{}, patchwave.Errorf(patchwave.ENotFound, "host %q not found", key)
	}
	if err != nil {
		return patchwave.Host{}, fmt.Errorf("host %s: %w", key, err)
	}
	var h patchwave.Host
	var tags string
	var managed, exposure int
	var revoked sql.NullInt64
	err = tx.queryRow(`SELECT id, hostname, site, tier, owner, tags, managed, revoked_at, high_exposure, tier_source FROM hosts WHERE id = ?`, id).
		Scan(&h.ID, &h.Hostname, &h.Site, &h.Tier, &h.Owner, &tags, &managed, &revoked, &exposure, &h.TierSource)
	if err != nil {
		return h, fmt.Errorf("host %s: %w", key, err)
	}
	_ = json.Unmarshal([]byte(tags), &h.Tags)
	h.Tags, h.Managed, h.Revoked, h.HighExposure = nonNil(h.Tags), managed != 0, revoked.Valid, exposure != 0
	return h, nil
}

// HostRef is the identity and ownership of a host, enough to authorize a change.
func (tx *Tx) HostRef(key string) (patchwave.Host, error) { return tx.hostForUpdate(key) }

// UpdateHost applies a validated update and returns the host's editable
// fields before and after.
func (tx *Tx) UpdateHost(key string, u patchwave.HostUpdate) (before, after patchwave.Host, err error) {
	before, err = tx.hostForUpdate(key)
	if err != nil {
		return before, before, err
	}
	after = before
	if u.Site != nil {
		after.Site = *u.Site
	}
	if u.Tier != nil {
		after.Tier, after.TierSource = *u.Tier, "manual"
	}
	if u.HighExposure != nil {
		after.HighExposure = *u.HighExposure
	}
	if u.Owner != nil {
		after.Owner = *u.Owner
	}
	if u.Tags != nil {
		after.Tags = *u.Tags
	}
	tags, _ := json.Marshal(nonNil(after.Tags))
	// A tier or exposure set by hand is the host's own from now on: tier
	// rules no longer change it.
	_, err = tx.exec(`UPDATE hosts SET site = ?, tier = ?, tier_source = ?, high_exposure = ?, owner = ?, tags = ?, updated_at = ?,
		tier_rule = CASE WHEN ? = 1 THEN NULL ELSE tier_rule END,
		exposure_source = CASE WHEN ? = 1 THEN 'manual' ELSE exposure_source END,
		exposure_rule = CASE WHEN ? = 1 THEN NULL ELSE exposure_rule END WHERE id = ?`,
		after.Site, string(after.Tier), after.TierSource, b2i(after.HighExposure), after.Owner, string(tags), ms_(tx.now),
		b2i(u.Tier != nil), b2i(u.HighExposure != nil), b2i(u.HighExposure != nil), after.ID)
	if err != nil {
		return before, after, fmt.Errorf("update host %s: %w", key, err)
	}
	return before, after, nil
}

// RevokeHost removes a host's agent credential: its agent is refused from
// now on, until it enrolls again with a valid token.
func (tx *Tx) RevokeHost(key string) (patchwave.Host, error) {
	h, err := tx.hostForUpdate(key)
	if err != nil {
		return h, err
	}
	if !h.Managed {
		return h, patchwave.Errorf(patchwave.EConflict, "host %s has no agent: there is no credential to revoke", h.Hostname)
	}
	if _, err := tx.exec(`UPDATE hosts SET credential_hash = NULL, revoked_at = COALESCE(revoked_at, ?), updated_at = ? WHERE id = ?`,
		ms_(tx.now), ms_(tx.now), h.ID); err != nil {
		return h, fmt.Errorf("revoke host %s: %w", key, err)
	}
	h.Revoked = true
	return h, nil
}

// DeleteHost removes a host and its interfaces.
func (tx *Tx) DeleteHost(key string) (patchwave.Host, error) {
	h, err := tx.hostForUpdate(key)
	if err != nil {
		return h, err
	}
	if _, err := tx.exec(`DELETE FROM host_interfaces WHERE host_id = ?`, h.ID); err != nil {
		return h, fmt.Errorf("delete host %s: %w", key, err)
	}
	if _, err := tx.exec(`DELETE FROM hosts WHERE id = ?`, h.ID); err != nil {
		return h, fmt.Errorf("delete host %s: %w", key, err)
	}
	return h, nil
}

// EnrollHost creates the host of a newly enrolled agent, or adopts the
// existing host of the same name, giving it the new credential. Settings
// from the token apply to new hosts and fill empty fields of adopted ones
// (site, tags, and high exposure over a default exposure).
//
// Adoption is how an imported asset gains its agent, so an agentless host
// is adopted when the token's site, if it has one, is the host's (or the
// host has none). A host whose agent is enrolled is refused unless the
// token allows re-enrollment (a reinstalled machine), with the same site
// rule; a revoked host is always refused, until it is deleted.
func (tx *Tx) EnrollHost(f patchwave.Facts, t patchwave.EnrollToken, credHash string) (h patchwave.Host, adopted bool, err error) {
	tier, source := t.Tier, "token"
	if tier == "" {
		tier, source = patchwave.TierBusinessOperational, "default"
	}
	exposureSource := "default"
	if t.HighExposure {
		exposureSource = "token"
	}
	tags, _ := json.Marshal(nonNil(t.Tags))
	services, _ := json.Marshal(nonNil(f.Services))
	var id int64
	var site, curTier string
	var managed int
	var cred sql.NullString
	var revoked sql.NullInt64
	err = tx.queryRow(`SELECT id, site, tier, managed, credential_hash, revoked_at FROM hosts WHERE hostname = ?`, f.Hostname).
		Scan(&id, &site, &curTier, &managed, &cred, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id, err = tx.insert(`INSERT INTO hosts (hostname, fqdn, site, tier, owner, tags, os_family, os_id, os_name, os_version, os_codename,
			kernel, arch, uptime, services, facts_hash, managed, agent_version, credential_hash, enroll_token_id, enrolled_at, last_seen_at,
			created_at, updated_at, pro, tier_source, high_exposure, exposure_source)
			VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.Hostname, f.FQDN, t.Site, string(tier), string(tags), f.OS.Family, f.OS.ID, f.OS.Name, f.OS.Version, f.OS.Codename,
			f.Kernel, f.Arch, f.UptimeSeconds, string(services), f.Hash(), f.AgentVersion, credHash, t.ID,
			ms_(tx.now), ms_(tx.now), ms_(tx.now), ms_(tx.now), b2i(f.Pro), source, b2i(t.HighExposure), exposureSource)
		if isUnique(err) { // another agent of that name enrolled meanwhile
			return h, false, patchwave.Errorf(patchwave.EConflict, "host %s is already enrolled: revoke and delete it, or enroll with a token created with --allow-reenroll", f.Hostname)
		}
		if err != nil {
			return h, false, fmt.Errorf("enroll host %s: %w", f.Hostname, err)
		}
		site = t.Site
	case err != nil:
		return h, false, fmt.Errorf("enroll host %s: %w", f.Hostname, err)
	default:
		switch {
		case revoked.Valid:
			return h, false, patchwave.Errorf(patchwave.EConflict, "host %s is revoked: delete it to enroll it again", f.Hostname)
		case managed != 0 && cred.Valid && !t.AllowReenroll:
			return h, false, patchwave.Errorf(patchwave.EConflict, "host %s is already enrolled: revoke and delete it, or enroll with a token created with --allow-reenroll", f.Hostname)
		case t.Site != "" && site != "" && site != t.Site:
			return h, false, patchwave.Errorf(patchwave.EForbidden, "host %s is at site %s: enrollment token %s is for site %s", f.Hostname, site, t.Prefix, t.Site)
		}
		adopted = true
		_, err = tx.exec(`UPDATE hosts SET fqdn = ?, site = CASE WHEN site = '' THEN ? ELSE site END,
			tags = CASE WHEN tags = '[]' THEN ? ELSE tags END, os_family = ?, os_id = ?, os_name = ?, os_version = ?,
			os_codename = ?, kernel = ?, arch = ?, uptime = ?, services = ?, facts_hash = ?, managed = 1, agent_version = ?,
			credential_hash = ?, enroll_token_id = ?, enrolled_at = ?, last_seen_at = ?, updated_at = ?, pro = ?,
			high_exposure = CASE WHEN exposure_source = 'default' AND ? = 1 THEN 1 ELSE high_exposure END,
			exposure_source = CASE WHEN exposure_source = 'default' AND ? = 1 THEN 'token' ELSE exposure_source END WHERE id = ?`,
			f.FQDN, t.Site, string(tags), f.OS.Family, f.OS.ID, f.OS.Name, f.OS.Version, f.OS.Codename, f.Kernel, f.Arch,
			f.UptimeSeconds, string(services), f.Hash(), f.AgentVersion, credHash, t.ID, ms_(tx.now), ms_(tx.now), ms_(tx.now), b2i(f.Pro),
			b2i(t.HighExposure), b2i(t.HighExposure), id)
		if err != nil {
			return h, false, fmt.Errorf("enroll host %s: %w", f.Hostname, err)
		}
		if site == "" {
			site = t.Site
		}
		tier = patchwave.Tier(curTier)
	}
	if err := tx.setInterfaces(id, f.Interfaces); err != nil {
		return h, false, err
	}
	return patchwave.Host{ID: id, Hostname: f.Hostname, Site: site, Tier: tier}, adopted, nil
}

func (tx *Tx) setInterfaces(hostID int64, ifs []patchwave.Interface) error {
	if _, err := tx.exec(`DELETE FROM host_interfaces WHERE host_id = ?`, hostID); err != nil {
		return fmt.Errorf("host %d interfaces: %w", hostID, err)
	}
	seen := map[string]bool{}
	for _, in := range ifs {
		if seen[in.Name] {
			continue
		}
		seen[in.Name] = true
		ips, _ := json.Marshal(nonNil(in.IPs))
		if _, err := tx.exec(`INSERT INTO host_interfaces (host_id, name, mac, ips) VALUES (?, ?, ?, ?)`, hostID, in.Name, in.MAC, string(ips)); err != nil {
			return fmt.Errorf("host %d interfaces: %w", hostID, err)
		}
	}
	return nil
}

// AgentState is what the server needs on every check-in: who the agent is
// and the hashes of what the server holds for it.
type AgentState struct {
	HostID       int64
	Hostname     string
	Site         string
	FactsHash    string
	PackagesHash string
}

// AgentByCredential finds the live host whose agent holds the credential
// with this hash. Revoked hosts and unknown credentials are EUnauthorized.
func (s *Store) AgentByCredential(ctx context.Context, hash string) (AgentState, error) {
	var a AgentState
	err := s.queryRow(ctx, `SELECT h.id, h.hostname, h.site, h.facts_hash, COALESCE(p.hash, '')`+hostFrom+
		` WHERE h.credential_hash = ? AND h.revoked_at IS NULL`, hash).Scan(&a.HostID, &a.Hostname, &a.Site, &a.FactsHash, &a.PackagesHash)
	if errors.Is(err, sql.ErrNoRows) {
		return a, patchwave.Errorf(patchwave.EUnauthorized, "agent credential is not valid (revoked host or unknown credential): enroll again")
	}
	if err != nil {
		return a, fmt.Errorf("agent credential: %w", err)
	}
	return a, nil
}

// SetFacts stores an agent's reported facts. The hostname can change: a
// clash with another host is EConflict.
func (tx *Tx) SetFacts(hostID int64, f patchwave.Facts) error {
	services, _ := json.Marshal(nonNil(f.Services))
	_, err := tx.exec(`UPDATE hosts SET hostname = ?, fqdn = ?, os_family = ?, os_id = ?, os_name = ?, os_version = ?, os_codename = ?,
		kernel = ?, arch = ?, uptime = ?, services = ?, facts_hash = ?, agent_version = ?, last_seen_at = ?, updated_at = ?, pro = ? WHERE id = ?`,
		f.Hostname, f.FQDN, f.OS.Family, f.OS.ID, f.OS.Name, f.OS.Version, f.OS.Codename, f.Kernel, f.Arch, f.UptimeSeconds,
		string(services), f.Hash(), f.AgentVersion, ms_(tx.now), ms_(tx.now), b2i(f.Pro), hostID)
	if isUnique(err) {
		return patchwave.Errorf(patchwave.EConflict, "hostname %q is already taken by another host", f.Hostname)
	}
	if err != nil {
		return fmt.Errorf("host %d facts: %w", hostID, err)
	}
	return tx.setInterfaces(hostID, f.Interfaces)
}

// SetPackages points a host at the package set with these sorted contents,
// storing the set if no host has it yet. It returns the set's hash.
func (tx *Tx) SetPackages(hostID int64, sorted []patchwave.Package) (string, error) {
	body := patchwave.EncodePackages(sorted)
	hash := patchwave.HashPackages(sorted)
	var setID int64
	err := tx.queryRow(`SELECT id FROM package_sets WHERE hash = ?`, hash).Scan(&setID)
	if errors.Is(err, sql.ErrNoRows) {
		setID, err = tx.insert(`INSERT INTO package_sets (hash, count, body, created_at) VALUES (?, ?, ?, ?)`, hash, len(sorted), body, ms_(tx.now))
		if isUnique(err) { // another replica stored it meanwhile
			err = tx.queryRow(`SELECT id FROM package_sets WHERE hash = ?`, hash).Scan(&setID)
		}
	}
	if err != nil {
		return "", fmt.Errorf("host %d packages: %w", hostID, err)
	}
	if _, err := tx.exec(`UPDATE hosts SET package_set_id = ?, last_seen_at = ?, updated_at = ? WHERE id = ?`, setID, ms_(tx.now), ms_(tx.now), hostID); err != nil {
		return "", fmt.Errorf("host %d packages: %w", hostID, err)
	}
	return hash, nil
}

// Seen is one check-in to record: when and the uptime reported.
type Seen struct {
	At     time.Time
	Uptime int64
}

// TouchHosts records check-ins in one transaction.
func (s *Store) TouchHosts(ctx context.Context, seen map[int64]Seen) error {
	if len(seen) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *Tx) error {
		for id, v := range seen {
			if _, err := tx.exec(`UPDATE hosts SET last_seen_at = ?, uptime = CASE WHEN ? > 0 THEN ? ELSE uptime END WHERE id = ?`,
				ms_(v.At), v.Uptime, v.Uptime, id); err != nil {
				return fmt.Errorf("touch hosts: %w", err)
			}
		}
		return nil
	})
}

// Asset is one row of an agentless import.
type Asset struct {
	Hostname string
	FQDN     string
	IP       string
	MAC      string
	OS       string
	Site     string
	Tier     patchwave.Tier
	Owner    string
	Tags     []string
}

// ImportAssets creates or updates agentless hosts by hostname. Imported
// values replace the stored ones; empty columns leave them as they are.
// Hosts with an agent keep their reported facts (OS, addresses).
func (tx *Tx) ImportAssets(assets []Asset) (created, updated int, err error) {
	for _, a := range assets {
		tags, _ := json.Marshal(nonNil(a.Tags))
		var id int64
		var managed int
		err := tx.queryRow(`SELECT id, managed FROM hosts WHERE hostname = ?`, a.Hostname).Scan(&id, &managed)
		osID, osVer, osName := splitOS(a.OS)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			tier := a.Tier
			if tier == "" {
				tier = patchwave.TierBusinessOperational
			}
			source := "manual"
			if a.Tier == "" {
				source = "default"
			}
			id, err = tx.insert(`INSERT INTO hosts (hostname, fqdn, site, tier, owner, tags, os_id, os_name, os_version, managed, created_at, updated_at, tier_source)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`, a.Hostname, a.FQDN, a.Site, string(tier), a.Owner, string(tags),
				osID, osName, osVer, ms_(tx.now), ms_(tx.now), source)
			if err != nil {
				return created, updated, fmt.Errorf("import %s: %w", a.Hostname, err)
			}
			created++
		case err != nil:
			return created, updated, fmt.Errorf("import %s: %w", a.Hostname, err)
		default:
			_, err = tx.exec(`UPDATE hosts SET
				fqdn = CASE WHEN ? = '' OR managed = 1 THEN fqdn ELSE ? END,
				site = CASE WHEN ? = '' THEN site ELSE ? END,
				tier = CASE WHEN ? = '' THEN tier ELSE ? END,
				tier_source = CASE WHEN ? = '' THEN tier_source ELSE 'manual' END,
				owner = CASE WHEN ? = '' THEN owner ELSE ? END,
				tags = CASE WHEN ? = '[]' THEN tags ELSE ? END,
				os_id = CASE WHEN ? = '' OR managed = 1 THEN os_id ELSE ? END,
				os_name = CASE WHEN ? = '' OR managed = 1 THEN os_name ELSE ? END,
				os_version = CASE WHEN ? = '' OR managed = 1 THEN os_version ELSE ? END,
				updated_at = ? WHERE id = ?`,
				a.FQDN, a.FQDN, a.Site, a.Site, string(a.Tier), string(a.Tier), string(a.Tier), a.Owner, a.Owner, string(tags), string(tags),
				osID, osID, osName, osName, osVer, osVer, ms_(tx.now), id)
			if err != nil {
				return created, updated, fmt.Errorf("import %s: %w", a.Hostname, err)
			}
			updated++
		}
		if managed == 0 && (a.IP != "" || a.MAC != "") {
			in := patchwave.Interface{Name: "import", MAC: a.MAC}
			in.IPs = patchwave.SplitList(strings.ReplaceAll(a.IP, ";", ","))
			if err := tx.setInterfaces(id, []patchwave.Interface{in}); err != nil {
				return created, updated, err
			}
		}
	}
	return created, updated, nil
}

// splitOS reads an imported OS column: "ubuntu 22.04", "debian:12",
// "Windows Server 2022".
func splitOS(s string) (id, version, name string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", ""
	}
	if i, v, ok := strings.Cut(s, ":"); ok {
		return strings.ToLower(i), v, s
	}
	f := strings.Fields(s)
	if len(f) == 2 && f[1] != "" && f[1][0] >= '0' && f[1][0] <= '9' {
		return strings.ToLower(f[0]), f[1], s
	}
	return strings.ToLower(strings.ReplaceAll(s, " ", "-")), "", s
}

// PrunePackageSets deletes package sets no host uses any more and that are
// older than before, and returns how many it deleted.
func (s *Store) PrunePackageSets(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`DELETE FROM package_sets WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.package_set_id = package_sets.id)`, ms_(before))
		if err != nil {
			return fmt.Errorf("prune package sets: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// SetOSEOL records when each host's OS release leaves support (nil: unknown).
func (tx *Tx) SetOSEOL(eol map[int64]*time.Time) error {
	for id, t := range eol {
		if _, err := tx.exec(`UPDATE hosts SET os_eol = ? WHERE id = ?`, nullMS(t), id); err != nil {
			return fmt.Errorf("host %d end of life: %w", id, err)
		}
	}
	return nil
}
