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
	"github.com/patchwave/patchwave/internal/plan"
)

// Release kinds.
const (
	ReleaseMonthly   = "monthly"
	ReleaseOutOfBand = "out-of-band"
)

// Release is a stored release and the state of its rollout.
type Release struct {
	ID   int64
	Name string
	// Cycle is the month (YYYY-MM) the release belongs to; exclusions
	// for that cycle apply to it.
	Cycle string
	Kind  string
	// ReleasedAt anchors the waves' start offsets.
	ReleasedAt    time.Time
	AllowNoWindow bool
	ContentHash   string
	// Waves is the wave plan, frozen with the release (JSON array of
	// plan.WaveJSON).
	Waves []byte
	// Summary is a JSON object of counts and warnings, for listings.
	Summary     []byte
	State       patchwave.RolloutState
	StateReason string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const releaseCols = `id, name, cycle, kind, released_at, allow_no_window, content_hash, waves, summary, state, state_reason, created_by, created_at, updated_at`

func scanRelease(sc interface{ Scan(...any) error }) (Release, error) {
	var r Release
	var rel, created, updated int64
	var waves, summary, state string
	var anyTime int
	err := sc.Scan(&r.ID, &r.Name, &r.Cycle, &r.Kind, &rel, &anyTime, &r.ContentHash, &waves, &summary, &state, &r.StateReason, &r.CreatedBy, &created, &updated)
	r.ReleasedAt, r.CreatedAt, r.UpdatedAt = fromMS(rel), fromMS(created), fromMS(updated)
	r.AllowNoWindow, r.Waves, r.Summary, r.State = anyTime != 0, []byte(waves), []byte(summary), patchwave.RolloutState(state)
	return r, err
}

// CreateRelease stores a release with its frozen content: its patch sets,
// its hosts and a waiting row for each of its waves (with the number of
// hosts each takes). It sets r.ID.
func (tx *Tx) CreateRelease(r *Release, c plan.ReleaseContent, waves []plan.Wave) error {
	id, err := tx.insert(`INSERT INTO releases (name, cycle, kind, released_at, allow_no_window, content_hash, waves, summary, state, state_reason, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Name, r.Cycle, r.Kind, ms_(r.ReleasedAt), b2i(r.AllowNoWindow), c.Hash, string(r.Waves),
		string(r.Summary), string(r.State), r.StateReason, r.CreatedBy, ms_(tx.now), ms_(tx.now))
	if isUnique(err) {
		return patchwave.Errorf(patchwave.EConflict, "release %q already exists: give the new one another name", r.Name)
	}
	if err != nil {
		return fmt.Errorf("create release %s: %w", r.Name, err)
	}
	r.ID, r.ContentHash, r.CreatedAt, r.UpdatedAt = id, c.Hash, tx.now, tx.now
	for _, ps := range c.PatchSets {
		b, err := json.Marshal(ps.Patches)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO release_patch_sets (release_id, hash, ecosystem, patches) VALUES (?, ?, ?, ?)`, id, ps.Hash, ps.Ecosystem, string(b)); err != nil {
			return fmt.Errorf("release %s patch set %s: %w", r.Name, ps.Hash, err)
		}
	}
	const batch = 400
	for i := 0; i < len(c.Hosts); i += batch {
		hs := c.Hosts[i:min(i+batch, len(c.Hosts))]
		args := make([]any, 0, len(hs)*7)
		for _, h := range hs {
			args = append(args, id, h.HostID, h.Hostname, h.Wave, h.PatchSet, h.Excluded, h.Held)
		}
		q := `INSERT INTO release_hosts (release_id, host_id, hostname, wave, patch_set, excluded, held) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?),", len(hs)), ",")
		if _, err := tx.exec(q, args...); err != nil {
			return fmt.Errorf("release %s hosts: %w", r.Name, err)
		}
	}
	counts, _ := c.Counts()
	for _, w := range waves {
		if _, err := tx.exec(`INSERT INTO release_waves (release_id, wave, state, hosts) VALUES (?, ?, ?, ?)`, id, w.Order, string(patchwave.WaveWaiting), counts[w.Order]); err != nil {
			return fmt.Errorf("release %s wave %d: %w", r.Name, w.Order, err)
		}
	}
	return nil
}

// Release returns a release by name, or by id when key is a number.
func (s *Store) Release(ctx context.Context, key string) (Release, error) {
	q, args := `SELECT `+releaseCols+` FROM releases WHERE name = ?`, []any{key}
	if id, err := parseID(key); err == nil {
		q, args = `SELECT `+releaseCols+` FROM releases WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, []any{id, key, id}
	}
	r, err := scanRelease(s.queryRow(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, patchwave.Errorf(patchwave.ENotFound, "release %q not found", key)
	}
	if err != nil {
		return r, fmt.Errorf("release %s: %w", key, err)
	}
	return r, nil
}

// ReleaseByID returns a release within tx.
func (tx *Tx) ReleaseByID(id int64) (Release, error) {
	r, err := scanRelease(tx.queryRow(`SELECT `+releaseCols+` FROM releases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, patchwave.Errorf(patchwave.ENotFound, "release %d not found", id)
	}
	if err != nil {
		return r, fmt.Errorf("release %d: %w", id, err)
	}
	return r, nil
}

// ListReleases returns releases, newest first; with active, only those
// whose rollout is not final.
func (s *Store) ListReleases(ctx context.Context, active bool) ([]Release, error) {
	q := `SELECT ` + releaseCols + ` FROM releases`
	if active {
		q += ` WHERE state NOT IN ('completed', 'aborted')`
	}
	rows, err := s.query(ctx, q+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	defer rows.Close()
	var out []Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetReleaseState changes a rollout's state and its reason, only from one
// of the states in from (any, when from is empty). It reports whether the
// state changed.
func (tx *Tx) SetReleaseState(id int64, state patchwave.RolloutState, reason string, from ...patchwave.RolloutState) (bool, error) {
	q := `UPDATE releases SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?`
	args := []any{string(state), reason, ms_(tx.now), id}
	if len(from) > 0 {
		q += ` AND state IN (` + placeholders(len(from)) + `)`
		for _, f := range from {
			args = append(args, string(f))
		}
	}
	res, err := tx.exec(q, args...)
	if err != nil {
		return false, fmt.Errorf("release %d state: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetReleaseSummary replaces a release's summary.
func (tx *Tx) SetReleaseSummary(id int64, summary []byte) error {
	_, err := tx.exec(`UPDATE releases SET summary = ? WHERE id = ?`, string(summary), id)
	return err
}

// PatchSets returns a release's patch sets.
func (s *Store) PatchSets(ctx context.Context, releaseID int64) ([]plan.PatchSet, error) {
	rows, err := s.query(ctx, `SELECT hash, ecosystem, patches FROM release_patch_sets WHERE release_id = ? ORDER BY hash`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("release %d patch sets: %w", releaseID, err)
	}
	defer rows.Close()
	var out []plan.PatchSet
	for rows.Next() {
		var ps plan.PatchSet
		var body string
		if err := rows.Scan(&ps.Hash, &ps.Ecosystem, &body); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &ps.Patches); err != nil {
			return nil, fmt.Errorf("release %d patch set %s: %w", releaseID, ps.Hash, err)
		}
		out = append(out, ps)
	}
	return out, rows.Err()
}

// ReleaseHosts returns a release's hosts in host id order.
func (s *Store) ReleaseHosts(ctx context.Context, releaseID int64) ([]plan.ReleaseHost, error) {
	rows, err := s.query(ctx, `SELECT host_id, hostname, wave, patch_set, excluded, held FROM release_hosts WHERE release_id = ? ORDER BY host_id`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("release %d hosts: %w", releaseID, err)
	}
	defer rows.Close()
	var out []plan.ReleaseHost
	for rows.Next() {
		var h plan.ReleaseHost
		if err := rows.Scan(&h.HostID, &h.Hostname, &h.Wave, &h.PatchSet, &h.Excluded, &h.Held); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ReleaseHost returns one host's place in a release, and false when the
// host is not in it.
func (s *Store) ReleaseHost(ctx context.Context, releaseID, hostID int64) (plan.ReleaseHost, bool, error) {
	var h plan.ReleaseHost
	err := s.queryRow(ctx, `SELECT host_id, hostname, wave, patch_set, excluded, held FROM release_hosts WHERE release_id = ? AND host_id = ?`,
		releaseID, hostID).Scan(&h.HostID, &h.Hostname, &h.Wave, &h.PatchSet, &h.Excluded, &h.Held)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("release %d host %d: %w", releaseID, hostID, err)
	}
	return h, true, nil
}

// ReleaseWaves returns the waves of a rollout in order.
func (s *Store) ReleaseWaves(ctx context.Context, releaseID int64) ([]plan.WaveProgress, error) {
	rows, err := s.query(ctx, `SELECT wave, state, hosts, started_at, promoted_at, note FROM release_waves WHERE release_id = ? ORDER BY wave`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("release %d waves: %w", releaseID, err)
	}
	defer rows.Close()
	var out []plan.WaveProgress
	for rows.Next() {
		var w plan.WaveProgress
		var state string
		var started, promoted sql.NullInt64
		if err := rows.Scan(&w.Wave, &state, &w.Hosts, &started, &promoted, &w.Note); err != nil {
			return nil, err
		}
		w.State, w.StartedAt, w.PromotedAt = patchwave.WaveState(state), fromNullMS(started), fromNullMS(promoted)
		out = append(out, w)
	}
	return out, rows.Err()
}

// SetWave stores a wave's state, start, promotion and note.
func (tx *Tx) SetWave(releaseID int64, w plan.WaveProgress) error {
	_, err := tx.exec(`UPDATE release_waves SET state = ?, started_at = ?, promoted_at = ?, note = ? WHERE release_id = ? AND wave = ?`,
		string(w.State), nullMS(w.StartedAt), nullMS(w.PromotedAt), w.Note, releaseID, w.Wave)
	if err != nil {
		return fmt.Errorf("release %d wave %d: %w", releaseID, w.Wave, err)
	}
	return nil
}

// AddApproval records an approval.
func (tx *Tx) AddApproval(a patchwave.Approval) (patchwave.Approval, error) {
	id, err := tx.insert(`INSERT INTO approvals (release_id, wave, stage, actor, role, decision, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ReleaseID, a.Wave, a.Stage, a.Actor, a.Role, a.Decision, a.Reason, ms_(tx.now))
	if err != nil {
		return a, fmt.Errorf("approval: %w", err)
	}
	a.ID, a.At = id, tx.now
	return a, nil
}

// Approvals returns a release's approvals in the order they were given.
func (s *Store) Approvals(ctx context.Context, releaseID int64) ([]patchwave.Approval, error) {
	rows, err := s.query(ctx, `SELECT id, release_id, wave, stage, actor, role, decision, reason, created_at FROM approvals WHERE release_id = ? ORDER BY id`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("release %d approvals: %w", releaseID, err)
	}
	defer rows.Close()
	var out []patchwave.Approval
	for rows.Next() {
		var a patchwave.Approval
		var at int64
		if err := rows.Scan(&a.ID, &a.ReleaseID, &a.Wave, &a.Stage, &a.Actor, &a.Role, &a.Decision, &a.Reason, &at); err != nil {
			return nil, err
		}
		a.At = fromMS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// FeedbackCounts counts a release's problem reports (its rollout events
// of kind feedback) by wave.
func (s *Store) FeedbackCounts(ctx context.Context, releaseID int64) (map[int]int, error) {
	rows, err := s.query(ctx, `SELECT wave, COUNT(*) FROM rollout_events WHERE release_id = ? AND kind = 'feedback' GROUP BY wave`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("release %d feedback: %w", releaseID, err)
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var wave, n int
		if err := rows.Scan(&wave, &n); err != nil {
			return nil, fmt.Errorf("release %d feedback: %w", releaseID, err)
		}
		out[wave] = n
	}
	return out, rows.Err()
}

// AddEvent records a rollout event.
func (tx *Tx) AddEvent(releaseID int64, e patchwave.RolloutEvent) error {
	if _, err := tx.exec(`INSERT INTO rollout_events (release_id, wave, host_id, kind, actor, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		releaseID, e.Wave, e.HostID, e.Kind, e.Actor, e.Reason, ms_(tx.now)); err != nil {
		return fmt.Errorf("rollout event: %w", err)
	}
	return nil
}

// Events returns a rollout's events, oldest first; with hostID, those of
// the host and those of the whole rollout or of the host's wave (wave >= 0).
func (s *Store) Events(ctx context.Context, releaseID, hostID int64, wave int, limit int) ([]patchwave.RolloutEvent, error) {
	q := `SELECT id, wave, host_id, kind, actor, reason, created_at FROM rollout_events WHERE release_id = ?`
	args := []any{releaseID}
	if hostID != 0 {
		q += ` AND (host_id = ? OR (host_id = 0 AND (wave = -1 OR wave = ?)))`
		args = append(args, hostID, wave)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("release %d events: %w", releaseID, err)
	}
	defer rows.Close()
	var out []patchwave.RolloutEvent
	for rows.Next() {
		var e patchwave.RolloutEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.Wave, &e.HostID, &e.Kind, &e.Actor, &e.Reason, &at); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// AcquireLease takes or renews the lease name for holder until ttl from
// now, and reports whether holder has it: a lease another holder renewed
// within its ttl is not taken. Replicas use it so that one of them runs a
// loop.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var got bool
	err := s.write(ctx, func(tx *Tx) error {
		until := ms_(tx.now.Add(ttl))
		res, err := tx.exec(`UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)`,
			holder, until, name, holder, ms_(tx.now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			got = true
			return nil
		}
		res, err = tx.exec(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, holder, until)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		got = n > 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return got, nil
}

// ReleaseLease gives up a lease holder has, so that another replica may
// take it at once.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
}

// ApprovedFindings returns, per host, the open findings whose fix the
// baselines approved when they were last judged: what a release built
// now would install.
func (s *Store) ApprovedFindings(ctx context.Context) (map[int64][]patchwave.Finding, error) {
	rows, err := s.query(ctx, `SELECT host_id, package, arch, ecosystem, source, installed, fixed, advisories, cves, severity, cvss
		FROM findings WHERE state = 'missing' AND approved = 1 AND fixed <> '' ORDER BY host_id, package, arch`)
	if err != nil {
		return nil, fmt.Errorf("approved findings: %w", err)
	}
	defer rows.Close()
	out := map[int64][]patchwave.Finding{}
	// Hosts that share a package set share their findings' lists: keep
	// one copy of each list of advisories and CVEs.
	intern := map[string][]string{}
	list := func(s string) []string {
		if v, ok := intern[s]; ok {
			return v
		}
		var v []string
		_ = json.Unmarshal([]byte(s), &v)
		intern[s] = v
		return v
	}
	for rows.Next() {
		var f patchwave.Finding
		var advs, cves, sev string
		if err := rows.Scan(&f.HostID, &f.Package, &f.Arch, &f.Ecosystem, &f.Source, &f.Installed, &f.Fixed, &advs, &cves, &sev, &f.CVSS); err != nil {
			return nil, fmt.Errorf("approved findings: %w", err)
		}
		f.State, f.Severity, f.Advisories, f.CVEs = patchwave.FindingMissing, patchwave.Severity(sev), list(advs), list(cves)
		out[f.HostID] = append(out[f.HostID], f)
	}
	return out, rows.Err()
}

// AllHosts returns every host (without interfaces), in id order: for the
// loops that match selectors over the whole fleet.
func (s *Store) AllHosts(ctx context.Context) ([]patchwave.Host, error) {
	rows, err := s.query(ctx, `SELECT `+hostCols+hostFrom+` ORDER BY h.id`)
	if err != nil {
		return nil, fmt.Errorf("all hosts: %w", err)
	}
	defer rows.Close()
	var hosts []patchwave.Host
	for rows.Next() {
		h, err := s.scanHost(rows)
		if err != nil {
			return nil, fmt.Errorf("all hosts: %w", err)
		}
		hosts = append(hosts, h)
	}
	return hosts, rows.Err()
}

// SettingOnce stores a setting's value unless it is set already, and
// returns the value now stored: replicas starting together agree on one.
func (s *Store) SettingOnce(ctx context.Context, key string, value []byte) ([]byte, error) {
	var out []byte
	err := s.write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`, key, string(value), ms_(tx.now)); err != nil {
			return err
		}
		v, err := tx.Setting(key)
		out = v
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	return out, nil
}
