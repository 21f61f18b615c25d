package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// NoWave is the wave of a release host that no wave's selector takes.
const NoWave = -1

// PatchTarget is one package of a frozen patch set: the exact version to
// install and what it fixes.
type PatchTarget struct {
	Package    string             `json:"package"`
	Arch       string             `json:"arch,omitempty"`
	Source     string             `json:"source,omitempty"`
	Version    string             `json:"version"`
	Advisories []string           `json:"advisories,omitempty"`
	CVEs       []string           `json:"cves,omitempty"`
	Severity   patchwave.Severity `json:"severity"`
}

// PatchSet is what a group of hosts installs: hosts of one ecosystem with
// the same approved patches share one set. Hash is the SHA-256 of the
// set's canonical JSON (ecosystem and patches, sorted), so the same
// content always has the same hash and any change shows.
type PatchSet struct {
	Hash      string        `json:"hash"`
	Ecosystem string        `json:"ecosystem"`
	Patches   []PatchTarget `json:"patches"`
}

// ReleaseHost is one host's place in a release.
type ReleaseHost struct {
	HostID   int64  `json:"host_id"`
	Hostname string `json:"hostname"`
	// Wave is the order of the wave that takes the host, or NoWave.
	Wave int `json:"wave"`
	// PatchSet is the hash of the host's patch set; empty when the host
	// is excluded.
	PatchSet string `json:"patch_set,omitempty"`
	// Excluded says why the host is left out of the release (an
	// exclusion submitted for the cycle); empty otherwise.
	Excluded string `json:"excluded,omitempty"`
	// Held counts the host's approved patches held back by restrictions
	// and risk acceptances.
	Held int `json:"held,omitempty"`
}

// ReleaseInput is what a release is built from, at a point in time.
type ReleaseInput struct {
	// Cycle is the release cycle (YYYY-MM) exclusions are matched with.
	Cycle string
	// Hosts are the candidates: managed, not revoked.
	Hosts []patchwave.Host
	// Approved holds each host's missing patches that the baselines
	// approve now (findings in state missing with a fixed version).
	Approved map[int64][]patchwave.Finding
	// Exceptions in effect are applied: exclusions for Cycle (or for
	// every cycle) leave hosts out; restrictions and risk acceptances
	// hold patches back.
	Exceptions []patchwave.Exception
	Waves      []Wave
	Now        time.Time
}

// ReleaseContent is a release's frozen content: the patch sets, each
// host's wave and set, and the hash of it all.
type ReleaseContent struct {
	PatchSets []PatchSet    `json:"patch_sets"`
	Hosts     []ReleaseHost `json:"hosts"`
	// Hash is the SHA-256 over every host's (id, wave, set) and the sets'
	// hashes: two releases with the same hash install the same thing on
	// the same hosts.
	Hash string `json:"hash"`
	// Warnings are for the people who create the release: waves no host
	// falls in, hosts no wave takes.
	Warnings []string `json:"warnings,omitempty"`
}

// Counts returns how many hosts the release patches in each wave (by
// order; NoWave for hosts no wave takes) and how many it leaves out.
func (c ReleaseContent) Counts() (byWave map[int]int, excluded int) {
	byWave = map[int]int{}
	for _, h := range c.Hosts {
		if h.Excluded != "" {
			excluded++
			continue
		}
		byWave[h.Wave]++
	}
	return byWave, excluded
}

// BuildRelease resolves the approved patches of every host into frozen
// patch sets and puts each host in its wave. A host is in the release
// when it has at least one approved patch; an active exclusion for the
// cycle leaves it out (it is listed, with the reason); a patch an active
// restriction or risk acceptance covers is held back. It fails with
// EInvalid when no host gets any patch: a release must install something.
func BuildRelease(in ReleaseInput) (ReleaseContent, error) {
	var out ReleaseContent
	var exclusions, holds []patchwave.Exception
	for _, e := range in.Exceptions {
		if !e.Active(in.Now) {
			continue
		}
		switch {
		case e.Kind == patchwave.ExceptionExclusion && (e.Cycle == "" || e.Cycle == in.Cycle):
			exclusions = append(exclusions, e)
		case e.Kind == patchwave.ExceptionRestriction || e.Kind == patchwave.ExceptionRiskAcceptance:
			holds = append(holds, e)
		}
	}
	waves := slices.Clone(in.Waves)
	slices.SortStableFunc(waves, func(a, b Wave) int { return a.Order - b.Order })
	sets := map[string]*PatchSet{} // by setKey: hosts sharing a package set share findings
	var keyBuf []byte
	var keep []*patchwave.Finding
	perWave := map[int]int{}
	var noWave []string
	hosts := slices.Clone(in.Hosts)
	slices.SortFunc(hosts, func(a, b patchwave.Host) int { return cmp.Compare(a.ID, b.ID) })
	for _, h := range hosts {
		fs := in.Approved[h.ID]
		if len(fs) == 0 {
			continue
		}
		rh := ReleaseHost{HostID: h.ID, Hostname: h.Hostname, Wave: NoWave}
		if i := slices.IndexFunc(waves, func(w Wave) bool { return w.Matches(h) }); i >= 0 {
			rh.Wave = waves[i].Order
		}
		if i := slices.IndexFunc(exclusions, func(e patchwave.Exception) bool { return e.Covers(h, patchwave.Finding{}) }); i >= 0 {
			e := exclusions[i]
			rh.Excluded = fmt.Sprintf("exclusion %d by %s until %s: %s", e.ID, cmp.Or(e.Owner, "?"), e.ExpiresAt.Format("2006-01-02"), e.Justification)
			out.Hosts = append(out.Hosts, rh)
			continue
		}
		keep = keep[:0]
		eco := ""
		for i := range fs {
			f := &fs[i]
			if f.State != patchwave.FindingMissing || f.Fixed == "" {
				continue
			}
			if slices.ContainsFunc(holds, func(e patchwave.Exception) bool { return e.Covers(h, *f) }) {
				rh.Held++
				continue
			}
			eco = cmp.Or(eco, f.Ecosystem)
			keep = append(keep, f)
		}
		if len(keep) == 0 {
			continue // everything it needs is held back
		}
		slices.SortFunc(keep, func(a, b *patchwave.Finding) int {
			return cmp.Or(strings.Compare(a.Package, b.Package), strings.Compare(a.Arch, b.Arch), strings.Compare(a.Fixed, b.Fixed))
		})
		key := setKey(&keyBuf, eco, keep)
		ps, ok := sets[key]
		if !ok {
			targets := make([]PatchTarget, len(keep))
			for i, f := range keep {
				targets[i] = PatchTarget{Package: f.Package, Arch: f.Arch, Source: f.Source, Version: f.Fixed,
					Advisories: slices.Clone(f.Advisories), CVEs: slices.Clone(f.CVEs), Severity: patchwave.EffectiveSeverity(*f)}
			}
			p := newPatchSet(eco, targets)
			ps = &p
			sets[key] = ps
		}
		rh.PatchSet = ps.Hash
		out.Hosts = append(out.Hosts, rh)
		if rh.Wave == NoWave {
			noWave = append(noWave, h.Hostname)
		} else {
			perWave[rh.Wave]++
		}
	}
	if len(sets) == 0 {
		return out, patchwave.Errorf(patchwave.EInvalid, "the release would install nothing: no host has a missing patch that the baselines approve (%d hosts looked at, %d excluded); see patchwave baselines preview",
			len(in.Hosts), len(out.Hosts))
	}
	for _, ps := range sets {
		out.PatchSets = append(out.PatchSets, *ps)
	}
	slices.SortFunc(out.PatchSets, func(a, b PatchSet) int { return strings.Compare(a.Hash, b.Hash) })
	for _, w := range waves {
		if perWave[w.Order] == 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("wave %d %q: no host to patch matches its selector", w.Order, w.Name))
		}
	}
	if len(noWave) > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d hosts with approved patches match no wave and will not be patched: %s",
			len(noWave), strings.Join(noWave[:min(len(noWave), 5)], ", ")+map[bool]string{true: ", …"}[len(noWave) > 5]))
	}
	out.Hash = contentHash(out)
	return out, nil
}

func sortTargets(targets []PatchTarget) {
	slices.SortFunc(targets, func(a, b PatchTarget) int {
		return cmp.Or(strings.Compare(a.Package, b.Package), strings.Compare(a.Arch, b.Arch), strings.Compare(a.Version, b.Version))
	})
}

// setKey is a cheap key of a host's sorted patches, to find a set built
// already without hashing again: every field that goes into the hash.
func setKey(buf *[]byte, ecosystem string, fs []*patchwave.Finding) string {
	b := append((*buf)[:0], ecosystem...)
	for _, f := range fs {
		for _, v := range []string{f.Package, f.Arch, f.Fixed, f.Source, string(patchwave.EffectiveSeverity(*f))} {
			b = append(b, 0)
			b = append(b, v...)
		}
		for _, a := range f.Advisories {
			b = append(b, 1)
			b = append(b, a...)
		}
		for _, c := range f.CVEs {
			b = append(b, 2)
			b = append(b, c...)
		}
	}
	*buf = b
	return string(b)
}

// newPatchSet sorts targets and hashes them.
func newPatchSet(ecosystem string, targets []PatchTarget) PatchSet {
	sortTargets(targets)
	ps := PatchSet{Ecosystem: ecosystem, Patches: targets}
	b, _ := json.Marshal(struct {
		Ecosystem string        `json:"ecosystem"`
		Patches   []PatchTarget `json:"patches"`
	}{ps.Ecosystem, ps.Patches})
	sum := sha256.Sum256(b)
	ps.Hash = hex.EncodeToString(sum[:])
	return ps
}

// PatchSetHash recomputes a set's hash from its content, to check that
// stored content is what was frozen.
func PatchSetHash(ps PatchSet) string {
	return newPatchSet(ps.Ecosystem, slices.Clone(ps.Patches)).Hash
}

func contentHash(c ReleaseContent) string {
	h := sha256.New()
	sets := make([]string, len(c.PatchSets))
	for i, ps := range c.PatchSets {
		sets[i] = ps.Hash
	}
	slices.Sort(sets)
	for _, s := range sets {
		fmt.Fprintf(h, "set %s\n", s)
	}
	hosts := slices.Clone(c.Hosts)
	slices.SortFunc(hosts, func(a, b ReleaseHost) int { return cmp.Compare(a.HostID, b.HostID) })
	for _, rh := range hosts {
		fmt.Fprintf(h, "host %d %d %s %q\n", rh.HostID, rh.Wave, rh.PatchSet, rh.Excluded)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ContentHash recomputes a release's hash from its sets and hosts.
func ContentHash(c ReleaseContent) string { return contentHash(c) }
