package agent_test

import (
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/osinfo"
	"github.com/patchwave/patchwave/internal/pkgmgr"
)

// BenchmarkCollect3000 measures what every check-in costs the host before
// anything is sent: facts and a 3,000-package dpkg database read, sorted and
// hashed.
func BenchmarkCollect3000(b *testing.B) {
	root := newFakeRoot(b, "bench1", manyPackages(3000))
	b.ReportAllocs()
	for b.Loop() {
		f, err := osinfo.Collect(b.Context(), root.dir)
		if err != nil {
			b.Fatal(err)
		}
		ps, _, err := pkgmgr.Installed(b.Context(), root.dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(ps) != 3000 {
			b.Fatalf("%d packages, want 3000", len(ps))
		}
		_ = f.Hash()
		_ = patchwave.HashPackages(patchwave.SortPackages(ps))
	}
	b.ReportMetric(3000*float64(b.N)/b.Elapsed().Seconds(), "packages/s")
}
