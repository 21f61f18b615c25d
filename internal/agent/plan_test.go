package agent

import (
	"testing"

	"github.com/patchwave/patchwave"
)

func TestDecide(t *testing.T) {
	acked := State{FactsHash: "F", PackagesHash: "P"}
	for _, tt := range []struct {
		name                    string
		facts, pkgs             string
		acked                   State
		haveBase                bool
		needFacts, needPackages bool
		wantFacts               bool
		wantPackages            Send
	}{
		{name: "first check-in", facts: "F", pkgs: "P", acked: State{}, haveBase: false,
			wantFacts: true, wantPackages: SendFull},
		{name: "nothing changed", facts: "F", pkgs: "P", acked: acked, haveBase: true,
			wantFacts: false, wantPackages: SendNone},
		{name: "nothing changed, base lost", facts: "F", pkgs: "P", acked: acked, haveBase: false,
			wantFacts: false, wantPackages: SendNone},
		{name: "facts changed", facts: "F2", pkgs: "P", acked: acked, haveBase: true,
			wantFacts: true, wantPackages: SendNone},
		{name: "packages changed", facts: "F", pkgs: "P2", acked: acked, haveBase: true,
			wantFacts: false, wantPackages: SendDelta},
		{name: "packages changed, no base on disk", facts: "F", pkgs: "P2", acked: acked, haveBase: false,
			wantFacts: false, wantPackages: SendFull},
		{name: "both changed", facts: "F2", pkgs: "P2", acked: acked, haveBase: true,
			wantFacts: true, wantPackages: SendDelta},
		{name: "server needs packages", facts: "F", pkgs: "P", acked: acked, haveBase: true, needPackages: true,
			wantFacts: false, wantPackages: SendFull},
		{name: "server needs packages, changed", facts: "F", pkgs: "P2", acked: acked, haveBase: true, needPackages: true,
			wantFacts: false, wantPackages: SendFull},
		{name: "server needs facts", facts: "F", pkgs: "P", acked: acked, haveBase: true, needFacts: true,
			wantFacts: true, wantPackages: SendNone},
		{name: "packages never acknowledged", facts: "F", pkgs: "P", acked: State{FactsHash: "F"}, haveBase: true,
			wantFacts: false, wantPackages: SendFull},
		{name: "facts never acknowledged", facts: "F", pkgs: "P", acked: State{PackagesHash: "P"}, haveBase: true,
			wantFacts: true, wantPackages: SendNone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := decide(tt.facts, tt.pkgs, tt.acked, tt.haveBase, tt.needFacts, tt.needPackages)
			if p.facts != tt.wantFacts || p.packages != tt.wantPackages {
				t.Errorf("decide = facts %v, packages %s; want facts %v, packages %s",
					p.facts, p.packages, tt.wantFacts, tt.wantPackages)
			}
		})
	}
}

func TestDelta(t *testing.T) {
	pkg := func(name, version string) patchwave.Package {
		return patchwave.Package{Name: name, Version: version, Arch: "amd64"}
	}
	base := []patchwave.Package{pkg("a", "1"), pkg("b", "1"), pkg("c", "1"), pkg("d", "1")}
	for _, tt := range []struct {
		name           string
		cur            []patchwave.Package
		wantOK         bool
		added, removed int
	}{
		{"upgrade one", []patchwave.Package{pkg("a", "1"), pkg("b", "2"), pkg("c", "1"), pkg("d", "1")}, true, 1, 1},
		{"add one", append(append([]patchwave.Package{}, base...), pkg("e", "1")), true, 1, 0},
		{"remove one", base[1:], true, 0, 1},
		{"everything new", []patchwave.Package{pkg("x", "1"), pkg("y", "1")}, false, 0, 0},
		{"all removed", nil, false, 0, 0},
		{"half upgraded", []patchwave.Package{pkg("a", "2"), pkg("b", "2"), pkg("c", "1"), pkg("d", "1")}, false, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := delta(base, tt.cur)
			if ok != tt.wantOK {
				t.Fatalf("delta ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if len(d.Added) != tt.added || len(d.Removed) != tt.removed {
				t.Errorf("delta = +%d -%d, want +%d -%d", len(d.Added), len(d.Removed), tt.added, tt.removed)
			}
			if got := patchwave.ApplyDelta(base, d); patchwave.HashPackages(got) != patchwave.HashPackages(tt.cur) {
				t.Errorf("base + delta = %v, want %v", got, tt.cur)
			}
		})
	}
}
