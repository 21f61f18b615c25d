package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

const feedCols = `name, kind, url, interval_secs, etag, last_modified, last_attempt_at, last_success_at, records, error, created_at`

func scanFeed(sc interface{ Scan(...any) error }) (patchwave.Feed, error) {
	var f patchwave.Feed
	var attempt, success sql.NullInt64
	var created int64
	err := sc.Scan(&f.Name, &f.Kind, &f.URL, &f.Interval, &f.ETag, &f.LastModified, &attempt, &success, &f.Records, &f.Error, &created)
	f.LastAttempt, f.LastSuccess, f.CreatedAt = fromNullMS(attempt), fromNullMS(success), fromMS(created)
	return f, err
}

// PutFeed creates a feed or changes its kind, URL and interval.
func (tx *Tx) PutFeed(f patchwave.Feed) error {
	_, err := tx.exec(`INSERT INTO feeds (name, kind, url, interval_secs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, interval_secs = excluded.interval_secs, updated_at = excluded.updated_at`,
		f.Name, f.Kind, f.URL, f.Interval, ms_(tx.now), ms_(tx.now))
	if err != nil {
		return fmt.Errorf("put feed %s: %w", f.Name, err)
	}
	return nil
}

// DeleteFeed removes a feed; its records stay until replaced.
func (tx *Tx) DeleteFeed(name string) error {
	res, err := tx.exec(`DELETE FROM feeds WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete feed %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchwave.Errorf(patchwave.ENotFound, "feed %q not found", name)
	}
	return tx.FeedSkipped(name, 0, nil)
}

// Feeds lists every feed by name.
func (s *Store) Feeds(ctx context.Context) ([]patchwave.Feed, error) {
	rows, err := s.query(ctx, `SELECT `+feedCols+` FROM feeds ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	defer rows.Close()
	out := []patchwave.Feed{}
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("list feeds: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	notes, err := s.feedNotes(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		notes[out[i].Name].apply(&out[i])
	}
	return out, nil
}

// Feed returns one feed.
func (s *Store) Feed(ctx context.Context, name string) (patchwave.Feed, error) {
	f, err := scanFeed(s.queryRow(ctx, `SELECT `+feedCols+` FROM feeds WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return f, patchwave.Errorf(patchwave.ENotFound, "feed %q not found", name)
	}
	if err != nil {
		return f, fmt.Errorf("feed %s: %w", name, err)
	}
	notes, err := s.feedNotes(ctx, name)
	if err != nil {
		return f, err
	}
	notes[name].apply(&f)
	return f, nil
}

// feedNotePrefix keys, in the settings table, what the last successful
// import of a feed left out: {"skipped": N, "warnings": [...]}.
const feedNotePrefix = "feed-import:"

type feedNote struct {
	Skipped  int64    `json:"skipped"`
	Warnings []string `json:"warnings,omitempty"`
}

func (n feedNote) apply(f *patchwave.Feed) { f.Skipped, f.Warnings = n.Skipped, n.Warnings }

// feedNotes reads the import notes of one feed, or of all when name is "".
func (s *Store) feedNotes(ctx context.Context, name string) (map[string]feedNote, error) {
	q, args := `SELECT key, value FROM settings WHERE key LIKE ?`, []any{feedNotePrefix + "%"}
	if name != "" {
		q, args = `SELECT key, value FROM settings WHERE key = ?`, []any{feedNotePrefix + name}
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("feed notes: %w", err)
	}
	defer rows.Close()
	out := map[string]feedNote{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("feed notes: %w", err)
		}
		var n feedNote
		if json.Unmarshal([]byte(v), &n) == nil {
			out[strings.TrimPrefix(k, feedNotePrefix)] = n
		}
	}
	return out, rows.Err()
}

// FeedSkipped records what the import just made of a feed left out: how
// many records were skipped and the first reasons (cut to 20 of 500
// bytes). Zero and nil clear the note.
func (tx *Tx) FeedSkipped(name string, skipped int64, warnings []string) error {
	if skipped == 0 && len(warnings) == 0 {
		if _, err := tx.exec(`DELETE FROM settings WHERE key = ?`, feedNotePrefix+name); err != nil {
			return fmt.Errorf("feed %s: %w", name, err)
		}
		return nil
	}
	n := feedNote{Skipped: skipped}
	for _, w := range warnings[:min(len(warnings), 20)] {
		if len(w) > 500 {
			w = w[:500]
		}
		n.Warnings = append(n.Warnings, w)
	}
	b, _ := json.Marshal(n)
	return tx.PutSetting(feedNotePrefix+name, b)
}

// FeedRecords returns how many OSV records the feed holds.
func (tx *Tx) FeedRecords(name string) (int64, error) {
	var n int64
	if err := tx.queryRow(`SELECT COUNT(*) FROM advisories WHERE feed = ?`, name).Scan(&n); err != nil {
		return 0, fmt.Errorf("feed %s: %w", name, err)
	}
	return n, nil
}

// FeedAttempt records a synchronisation attempt of a feed: on success its
// validators and record count, on failure the error (the feed's data and
// last success stay as they were).
func (tx *Tx) FeedAttempt(name, kind string, records int64, etag, lastModified string, failure error) error {
	if _, err := tx.exec(`INSERT INTO feeds (name, kind, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, kind, ms_(tx.now), ms_(tx.now)); err != nil {
		return fmt.Errorf("feed %s: %w", name, err)
	}
	var err error
	if failure != nil {
		msg := failure.Error()
		if len(msg) > 2000 {
			msg = msg[:2000]
		}
		_, err = tx.exec(`UPDATE feeds SET last_attempt_at = ?, error = ?, updated_at = ? WHERE name = ?`, ms_(tx.now), msg, ms_(tx.now), name)
	} else {
		_, err = tx.exec(`UPDATE feeds SET last_attempt_at = ?, last_success_at = ?, error = '', records = ?, etag = ?, last_modified = ?, updated_at = ? WHERE name = ?`,
			ms_(tx.now), ms_(tx.now), records, etag, lastModified, ms_(tx.now), name)
	}
	if err != nil {
		return fmt.Errorf("feed %s: %w", name, err)
	}
	return nil
}

// RawAdvisory is a stored OSV record.
type RawAdvisory struct {
	ID        string
	Modified  time.Time
	Withdrawn bool
	Body      []byte // the record's JSON
}

// PutAdvisories stores records of a feed, each only when it is new or
// modified later than the stored one, and returns how many changed and
// their ids. The caller wraps it in one transaction so that a source is
// taken whole or not at all.
func (tx *Tx) PutAdvisories(feed string, recs []RawAdvisory) (changed []string, err error) {
	for _, r := range recs {
		res, err := tx.exec(`INSERT INTO advisories (id, feed, modified, withdrawn, body, imported_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET feed = excluded.feed, modified = excluded.modified, withdrawn = excluded.withdrawn,
			body = excluded.body, imported_at = excluded.imported_at WHERE advisories.modified < excluded.modified`,
			r.ID, feed, ms_(r.Modified), b2i(r.Withdrawn), r.Body, ms_(tx.now))
		if err != nil {
			return changed, fmt.Errorf("store advisory %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			changed = append(changed, r.ID)
		}
	}
	return changed, nil
}

// EachAdvisory calls fn with every stored record's body, in id order.
func (s *Store) EachAdvisory(ctx context.Context, fn func(id string, body []byte) error) error {
	rows, err := s.query(ctx, `SELECT id, body FROM advisories WHERE withdrawn = 0 ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read advisories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return fmt.Errorf("read advisories: %w", err)
		}
		if err := fn(id, body); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AdvisoriesByID returns the bodies of the stored records with these ids.
func (s *Store) AdvisoriesByID(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		rows, err := s.query(ctx, `SELECT id, body FROM advisories WHERE id IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read advisories: %w", err)
		}
		for rows.Next() {
			var id string
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = body
		}
		rows.Close()
		ids = ids[n:]
	}
	return out, nil
}

// CountAdvisories returns how many records are stored.
func (s *Store) CountAdvisories(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM advisories`).Scan(&n)
	return n, err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// ReplaceKEV replaces the KEV catalogue.
func (tx *Tx) ReplaceKEV(entries []patchwave.KEV) error {
	if _, err := tx.exec(`DELETE FROM kev`); err != nil {
		return fmt.Errorf("replace kev: %w", err)
	}
	for _, k := range entries {
		if _, err := tx.exec(`INSERT INTO kev (cve, date_added, due_date, ransomware, vendor, product, name) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (cve) DO NOTHING`, k.CVE, ms_(k.DateAdded), ms_(k.DueDate), b2i(k.Ransomware), k.Vendor, k.Product, k.Name); err != nil {
			return fmt.Errorf("replace kev %s: %w", k.CVE, err)
		}
	}
	return nil
}

// CountKEV returns how many KEV entries are stored.
func (tx *Tx) CountKEV() (int64, error) {
	var n int64
	err := tx.queryRow(`SELECT COUNT(*) FROM kev`).Scan(&n)
	return n, err
}

// CountEPSS returns how many EPSS scores are stored.
func (tx *Tx) CountEPSS() (int64, error) {
	var n int64
	err := tx.queryRow(`SELECT COUNT(*) FROM epss`).Scan(&n)
	return n, err
}

// KEVs returns the KEV catalogue by CVE.
func (s *Store) KEVs(ctx context.Context) (map[string]patchwave.KEV, error) {
	rows, err := s.query(ctx, `SELECT cve, date_added, due_date, ransomware, vendor, product, name FROM kev`)
	if err != nil {
		return nil, fmt.Errorf("read kev: %w", err)
	}
	defer rows.Close()
	out := map[string]patchwave.KEV{}
	for rows.Next() {
		var k patchwave.KEV
		var added, due int64
		var ransom int
		if err := rows.Scan(&k.CVE, &added, &due, &ransom, &k.Vendor, &k.Product, &k.Name); err != nil {
			return nil, fmt.Errorf("read kev: %w", err)
		}
		k.DateAdded, k.DueDate, k.Ransomware = fromMS(added), fromMS(due), ransom != 0
		out[k.CVE] = k
	}
	return out, rows.Err()
}

// ReplaceEPSS replaces the EPSS scores with one day's file.
func (tx *Tx) ReplaceEPSS(scores []patchwave.EPSS) error {
	if _, err := tx.exec(`DELETE FROM epss`); err != nil {
		return fmt.Errorf("replace epss: %w", err)
	}
	for _, e := range scores {
		if _, err := tx.exec(`INSERT INTO epss (cve, probability, percentile, scored_at) VALUES (?, ?, ?, ?) ON CONFLICT (cve) DO NOTHING`,
			e.CVE, e.Probability, e.Percentile, ms_(e.Date)); err != nil {
			return fmt.Errorf("replace epss %s: %w", e.CVE, err)
		}
	}
	return nil
}

// EPSSScores returns the EPSS probability of each CVE.
func (s *Store) EPSSScores(ctx context.Context) (map[string]float64, error) {
	rows, err := s.query(ctx, `SELECT cve, probability FROM epss`)
	if err != nil {
		return nil, fmt.Errorf("read epss: %w", err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var c string
		var p float64
		if err := rows.Scan(&c, &p); err != nil {
			return nil, fmt.Errorf("read epss: %w", err)
		}
		out[c] = p
	}
	return out, rows.Err()
}

// PutMSRC stores one Microsoft monthly release document.
func (tx *Tx) PutMSRC(id string, released time.Time, body []byte) error {
	_, err := tx.exec(`INSERT INTO msrc_releases (id, released, body, imported_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET released = excluded.released, body = excluded.body, imported_at = excluded.imported_at`,
		id, ms_(released), body, ms_(tx.now))
	if err != nil {
		return fmt.Errorf("store msrc %s: %w", id, err)
	}
	return nil
}

// MSRCImported returns when each stored Microsoft release document was
// imported, by id.
func (s *Store) MSRCImported(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.query(ctx, `SELECT id, imported_at FROM msrc_releases`)
	if err != nil {
		return nil, fmt.Errorf("list msrc: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("list msrc: %w", err)
		}
		out[id] = fromMS(at)
	}
	return out, rows.Err()
}

// CountMSRC returns how many Microsoft release documents are stored.
func (tx *Tx) CountMSRC() (int64, error) {
	var n int64
	err := tx.queryRow(`SELECT COUNT(*) FROM msrc_releases`).Scan(&n)
	return n, err
}

// MSRCReleases lists the stored Microsoft release ids, newest first.
func (s *Store) MSRCReleases(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM msrc_releases ORDER BY released DESC`)
	if err != nil {
		return nil, fmt.Errorf("list msrc: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReplaceEOL replaces the end-of-life rows of the products in rows.
func (tx *Tx) ReplaceEOL(rows []patchwave.EOL) error {
	done := map[string]bool{}
	for _, r := range rows {
		if !done[r.Product] {
			done[r.Product] = true
			if _, err := tx.exec(`DELETE FROM eol WHERE product = ?`, r.Product); err != nil {
				return fmt.Errorf("replace eol %s: %w", r.Product, err)
			}
		}
		if _, err := tx.exec(`INSERT INTO eol (product, cycle, eol, extended_eol, source) VALUES (?, ?, ?, ?, ?) ON CONFLICT (product, cycle) DO NOTHING`,
			r.Product, r.Cycle, ms_(r.EOL), nullMS(r.ExtendedEOL), r.Source); err != nil {
			return fmt.Errorf("replace eol %s %s: %w", r.Product, r.Cycle, err)
		}
	}
	return nil
}

// EOLs returns the stored end-of-life rows.
func (s *Store) EOLs(ctx context.Context) ([]patchwave.EOL, error) {
	rows, err := s.query(ctx, `SELECT product, cycle, eol, extended_eol, source FROM eol ORDER BY product, cycle`)
	if err != nil {
		return nil, fmt.Errorf("read eol: %w", err)
	}
	defer rows.Close()
	var out []patchwave.EOL
	for rows.Next() {
		var e patchwave.EOL
		var eol int64
		var ext sql.NullInt64
		if err := rows.Scan(&e.Product, &e.Cycle, &eol, &ext, &e.Source); err != nil {
			return nil, err
		}
		e.EOL, e.ExtendedEOL = fromMS(eol), fromNullMS(ext)
		out = append(out, e)
	}
	return out, rows.Err()
}

// HostInventory is what assessment needs of a host.
type HostInventory struct {
	ID           int64
	Hostname     string
	OS           patchwave.OS
	Pro          bool   // receives extended vendor fixes
	PackagesHash string // "" when the host has reported no packages
}

// Inventories lists every host with its OS and package set hash.
func (s *Store) Inventories(ctx context.Context) ([]HostInventory, error) {
	rows, err := s.query(ctx, `SELECT h.id, h.hostname, h.os_family, h.os_id, h.os_name, h.os_version, h.os_codename, h.pro, COALESCE(p.hash, '')`+hostFrom+` ORDER BY h.id`)
	if err != nil {
		return nil, fmt.Errorf("inventories: %w", err)
	}
	defer rows.Close()
	var out []HostInventory
	for rows.Next() {
		var h HostInventory
		var pro int
		if err := rows.Scan(&h.ID, &h.Hostname, &h.OS.Family, &h.OS.ID, &h.OS.Name, &h.OS.Version, &h.OS.Codename, &pro, &h.PackagesHash); err != nil {
			return nil, fmt.Errorf("inventories: %w", err)
		}
		h.Pro = pro != 0
		out = append(out, h)
	}
	return out, rows.Err()
}

// ApplyFindings makes the stored findings of a host equal current (open
// findings): new ones are opened with first_seen now, known ones keep
// their first_seen and are updated, and open ones no longer reported are
// marked fixed. It reports how many were opened and closed.
//
// decorate, when not nil, is called for each current finding with its
// first-seen time before it is written: it sets the finding's Policy,
// whose due date, risk and outcome are stored with it.
func (tx *Tx) ApplyFindings(hostID int64, current []patchwave.Finding, decorate func(f *patchwave.Finding, firstSeen time.Time)) (opened, closed int, err error) {
	type key struct{ pkg, arch string }
	rows, err := tx.queryRows(`SELECT package, arch, state, installed, fixed, advisories, severity, kev, epss, first_seen, policy, published, classification
		FROM findings WHERE host_id = ?`, hostID)
	if err != nil {
		return 0, 0, fmt.Errorf("host %d findings: %w", hostID, err)
	}
	type old struct {
		state, installed, fixed, advisories, severity, policy, class string
		kev                                                          int
		epss                                                         float64
		firstSeen                                                    int64
		published                                                    sql.NullInt64
	}
	existing := map[key]old{}
	for rows.Next() {
		var k key
		var o old
		if err := rows.Scan(&k.pkg, &k.arch, &o.state, &o.installed, &o.fixed, &o.advisories, &o.severity, &o.kev, &o.epss, &o.firstSeen, &o.policy, &o.published, &o.class); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("host %d findings: %w", hostID, err)
		}
		existing[k] = o
	}
	rows.Close()
	seen := map[key]bool{}
	for _, f := range current {
		k := key{f.Package, f.Arch}
		if seen[k] {
			continue // one finding per binary package and architecture
		}
		seen[k] = true
		advs, _ := json.Marshal(nonNil(f.Advisories))
		cves, _ := json.Marshal(nonNil(f.CVEs))
		kev := f.KEV != nil
		o, ok := existing[k]
		reopened := ok && o.state == string(patchwave.FindingFixed)
		first := tx.now
		if ok && !reopened {
			first = fromMS(o.firstSeen)
		}
		var policy string
		var due any
		var risk float64
		var sla string
		var approved, excepted int
		if decorate != nil {
			decorate(&f, first)
		}
		if p := f.Policy; p != nil {
			b, _ := json.Marshal(p)
			policy, risk, sla, approved, excepted = string(b), p.Risk.Score, string(p.SLA), b2i(p.Approved), b2i(p.Excepted)
			if !p.Due.IsZero() {
				due = ms_(p.Due)
			}
		}
		var pub sql.NullInt64
		if f.Published != nil {
			pub = sql.NullInt64{Int64: ms_(*f.Published), Valid: true}
		}
		switch {
		case !ok:
			opened++
			_, err = tx.exec(`INSERT INTO findings (host_id, package, arch, ecosystem, source, installed, fixed, state, advisories, cves, severity, cvss, kev, epss, third_party, first_seen, updated_at,
				due_at, risk, sla, approved, excepted, policy, published, classification)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, hostID, f.Package, f.Arch, f.Ecosystem, f.Source, f.Installed, f.Fixed,
				string(f.State), string(advs), string(cves), string(f.Severity), f.CVSS, b2i(kev), f.EPSS, b2i(f.ThirdParty), ms_(tx.now), ms_(tx.now),
				due, risk, sla, approved, excepted, policy, pub, f.Classification)
		case reopened:
			opened++ // it came back: a new finding, seen from now
			_, err = tx.exec(`UPDATE findings SET ecosystem = ?, source = ?, installed = ?, fixed = ?, state = ?, advisories = ?, cves = ?, severity = ?, cvss = ?, kev = ?, epss = ?,
				third_party = ?, first_seen = ?, fixed_at = NULL, updated_at = ?, due_at = ?, risk = ?, sla = ?, approved = ?, excepted = ?, policy = ?,
				published = ?, classification = ? WHERE host_id = ? AND package = ? AND arch = ?`,
				f.Ecosystem, f.Source, f.Installed, f.Fixed, string(f.State), string(advs), string(cves), string(f.Severity), f.CVSS, b2i(kev), f.EPSS,
				b2i(f.ThirdParty), ms_(tx.now), ms_(tx.now), due, risk, sla, approved, excepted, policy, pub, f.Classification, hostID, f.Package, f.Arch)
		case o.state != string(f.State) || o.installed != f.Installed || o.fixed != f.Fixed || o.advisories != string(advs) ||
			o.severity != string(f.Severity) || o.kev != b2i(kev) || o.epss != f.EPSS || o.policy != policy ||
			o.class != f.Classification || o.published != pub:
			_, err = tx.exec(`UPDATE findings SET ecosystem = ?, source = ?, installed = ?, fixed = ?, state = ?, advisories = ?, cves = ?, severity = ?, cvss = ?, kev = ?, epss = ?,
				third_party = ?, updated_at = ?, due_at = ?, risk = ?, sla = ?, approved = ?, excepted = ?, policy = ?, published = ?, classification = ?
				WHERE host_id = ? AND package = ? AND arch = ?`,
				f.Ecosystem, f.Source, f.Installed, f.Fixed, string(f.State), string(advs), string(cves), string(f.Severity), f.CVSS, b2i(kev), f.EPSS,
				b2i(f.ThirdParty), ms_(tx.now), due, risk, sla, approved, excepted, policy, pub, f.Classification, hostID, f.Package, f.Arch)
		}
		if err != nil {
			return opened, closed, fmt.Errorf("host %d finding %s: %w", hostID, f.Package, err)
		}
	}
	for k, o := range existing {
		if seen[k] || o.state == string(patchwave.FindingFixed) {
			continue
		}
		closed++
		if _, err := tx.exec(`UPDATE findings SET state = ?, fixed_at = ?, updated_at = ? WHERE host_id = ? AND package = ? AND arch = ?`,
			string(patchwave.FindingFixed), ms_(tx.now), ms_(tx.now), hostID, k.pkg, k.arch); err != nil {
			return opened, closed, fmt.Errorf("host %d finding %s: %w", hostID, k.pkg, err)
		}
	}
	return opened, closed, nil
}

func (tx *Tx) queryRows(q string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(tx.ctx, rebind(tx.dialect, q), args...)
}

// ListFindings returns a page of findings matching f in id order, and the
// cursor of the next page (0 when this is the last).
func (s *Store) ListFindings(ctx context.Context, f patchwave.FindingFilter) ([]patchwave.Finding, int64, error) {
	var conds []string
	var args []any
	add := func(c string, a ...any) { conds, args = append(conds, c), append(args, a...) }
	switch f.State {
	case "":
		add("f.state IN ('missing', 'no-fix', 'unexpected-service')")
	default:
		add("f.state = ?", string(f.State))
	}
	if f.Host != "" {
		if id, err := parseID(f.Host); err == nil {
			add("(h.id = ? OR h.hostname = ?)", id, f.Host)
		} else {
			add("h.hostname = ?", f.Host)
		}
	}
	if f.Site != "" {
		add("h.site = ?", f.Site)
	}
	if f.Tier != "" {
		add("h.tier = ?", string(f.Tier))
	}
	if f.Severity != "" {
		var sev []any
		for _, s := range []patchwave.Severity{patchwave.SeverityCritical, patchwave.SeverityHigh, patchwave.SeverityMedium, patchwave.SeverityLow, patchwave.SeverityNone} {
			if s.Rank() >= f.Severity.Rank() {
				sev = append(sev, string(s))
			}
		}
		add("f.severity IN ("+placeholders(len(sev))+")", sev...)
	}
	if f.KEV != nil {
		add("f.kev = ?", b2i(*f.KEV))
	}
	if f.CVE != "" {
		add(`f.cves LIKE ? ESCAPE '\'`, `%"`+likeEscape(f.CVE)+`"%`)
	}
	if f.Advisory != "" {
		add(`f.advisories LIKE ? ESCAPE '\'`, `%"`+likeEscape(f.Advisory)+`"%`)
	}
	if f.Package != "" {
		add("(f.package = ? OR f.source = ?)", f.Package, f.Package)
	}
	if f.HasFix != nil {
		if *f.HasFix {
			add("f.fixed <> ''")
		} else {
			add("f.fixed = ''")
		}
	}
	if f.SLA != "" {
		add("f.sla = ?", f.SLA)
	}
	if f.Excepted != nil {
		add("f.excepted = ?", b2i(*f.Excepted))
	}
	byRisk := f.Sort == "risk"
	if f.After > 0 && !byRisk {
		add("f.id > ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	order := ` ORDER BY f.id LIMIT ?`
	args = append(args, limit+1)
	if byRisk {
		order = ` ORDER BY f.risk DESC, f.id LIMIT ? OFFSET ?`
		args = append(args, max(f.Offset, 0))
	}
	q := `SELECT f.id, f.host_id, h.hostname, f.ecosystem, f.package, f.arch, f.source, f.installed, f.fixed, f.state, f.advisories, f.cves,
		f.severity, f.cvss, f.kev, f.epss, f.third_party, f.first_seen, f.fixed_at, f.policy, f.published, f.classification
		FROM findings f JOIN hosts h ON h.id = f.host_id WHERE ` + strings.Join(conds, " AND ") + order
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	out := []patchwave.Finding{}
	for rows.Next() {
		var x patchwave.Finding
		var advs, cves string
		var kev, third int
		var first int64
		var fixedAt, published sql.NullInt64
		var policy string
		if err := rows.Scan(&x.ID, &x.HostID, &x.Host, &x.Ecosystem, &x.Package, &x.Arch, &x.Source, &x.Installed, &x.Fixed, &x.State,
			&advs, &cves, &x.Severity, &x.CVSS, &kev, &x.EPSS, &third, &first, &fixedAt, &policy, &published, &x.Classification); err != nil {
			return nil, 0, fmt.Errorf("list findings: %w", err)
		}
		_ = json.Unmarshal([]byte(advs), &x.Advisories)
		_ = json.Unmarshal([]byte(cves), &x.CVEs)
		x.Advisories, x.CVEs = nonNil(x.Advisories), nonNil(x.CVEs)
		t := fromMS(first)
		x.FirstSeen, x.FixedAt, x.ThirdParty, x.Published = &t, fromNullMS(fixedAt), third != 0, fromNullMS(published)
		if kev != 0 {
			x.KEV = &patchwave.KEV{} // filled from the catalogue by the caller
		}
		if policy != "" {
			var p patchwave.FindingPolicy
			if json.Unmarshal([]byte(policy), &p) == nil {
				x.Policy = &p
			}
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
		if byRisk {
			next = int64(max(f.Offset, 0) + limit)
		}
	}
	return out, next, nil
}

func parseID(s string) (int64, error) {
	var id int64
	_, err := fmt.Sscan(s, &id)
	if err != nil || fmt.Sprint(id) != s {
		return 0, fmt.Errorf("not an id")
	}
	return id, nil
}

// FillKEV replaces the KEV markers of listed findings with their catalogue
// entries (the earliest due date among the finding's CVEs).
func (s *Store) FillKEV(ctx context.Context, fs []patchwave.Finding) error {
	need := false
	for _, f := range fs {
		need = need || f.KEV != nil
	}
	if !need {
		return nil
	}
	kev, err := s.KEVs(ctx)
	if err != nil {
		return err
	}
	for i := range fs {
		if fs[i].KEV == nil {
			continue
		}
		for _, c := range fs[i].CVEs {
			if k, ok := kev[c]; ok && (fs[i].KEV.CVE == "" || k.DueDate.Before(fs[i].KEV.DueDate)) {
				fs[i].KEV = &k
			}
		}
	}
	return nil
}
