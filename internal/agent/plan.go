package agent

import "github.com/patchwave/patchwave"

// Send says how a check-in reports the package list.
type Send string

// How packages are reported.
const (
	SendNone  Send = "none"  // only the hash: nothing changed
	SendDelta Send = "delta" // the change from the acknowledged base
	SendFull  Send = "full"  // the whole list
)

// plan is what one check-in sends besides the hashes.
type plan struct {
	facts    bool // send the facts in full
	packages Send
}

// decide chooses what a check-in sends, given the current hashes, the hashes
// the server last acknowledged, whether the acknowledged package list is on
// disk, and whether the server asked for a full report of either section.
func decide(factsHash, pkgsHash string, acked State, haveBase, needFacts, needPackages bool) plan {
	p := plan{facts: needFacts || acked.FactsHash == "" || factsHash != acked.FactsHash}
	switch {
	case needPackages || acked.PackagesHash == "":
		p.packages = SendFull
	case pkgsHash == acked.PackagesHash:
		p.packages = SendNone
	case !haveBase:
		p.packages = SendFull
	default:
		p.packages = SendDelta
	}
	return p
}

// delta returns the change from base to cur (both sorted), or false when the
// change is not smaller than the list itself, so that the full list is the
// cheaper report.
func delta(base, cur []patchwave.Package) (patchwave.PackageDelta, bool) {
	d := patchwave.DiffPackages(base, cur)
	if len(d.Added)+len(d.Removed) >= max(len(cur), 1) {
		return patchwave.PackageDelta{}, false
	}
	return d, true
}
