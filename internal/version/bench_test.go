package version

import (
	"path/filepath"
	"testing"
)

// Realistic pairs: an installed version against the fixed version of an
// advisory, as the matcher compares them.
var benchPairs = map[Scheme][][2]string{
	Dpkg: {
		{"1:2.38.1-5+deb12u3", "1:2.38.1-5+deb12u10"},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u12"},
		{"2.7.4+reloaded2-13ubuntu1", "2.7.4+reloaded2-13+deb9u1"},
		{"3.0.11-1~deb12u2", "3.0.15-1~deb12u1"},
		{"6.1.0-28", "6.1.0-31"},
		{"1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u5"},
	},
	RPM: {
		{"1:3.5.5-4.el9_8", "1:3.5.5-5.el9_8"},
		{"5.14.0-427.13.1.el9_4", "5.14.0-427.16.1.el9_4"},
		{"2.9.13-6.el9_4", "2.9.13-6.el9_4.1"},
		{"1.20.1-1.module_el8.6.0+2777+e6b2a7bf", "1:1.20.1-14.module_el8.8.0+3587+1e0f3d8a"},
		{"3.1.2-150400.3.6.1", "3.1.2-150400.3.9.1"},
		{"0.9.6^20240404git1e6a4b3-1.fc40", "0.9.6-1.fc40"},
	},
	APK: {
		{"3.0.13-r0", "3.0.14-r0"},
		{"1.36.1-r15", "1.36.1-r19"},
		{"9.6_p1-r0", "9.7_p1-r0"},
		{"8.5.0_rc1-r2", "8.5.0-r0"},
		{"2.12.6-r0", "2.12.10-r0"},
		{"1.2.4_git20230717-r4", "1.2.4_git20230717-r5"},
	},
	Semver: {
		{"4.17.20", "4.17.21"},
		{"1.2.3", "1.10.0"},
		{"0.0.0-20210101000000-abcdef123456", "0.1.0"},
		{"1.0.0-beta.2", "1.0.0-beta.11"},
		{"v1.21.5", "v1.22.0-rc.1"},
		{"2.0.0+build.5", "2.0.0"},
	},
}

func BenchmarkCompare(b *testing.B) {
	for _, s := range []Scheme{Dpkg, RPM, APK, Semver} {
		pairs := benchPairs[s]
		b.Run(s.String(), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				p := pairs[n%len(pairs)]
				s.Compare(p[0], p[1])
				n++
			}
		})
	}
}

// BenchmarkCompareShared compares every pair of the shared data's
// generated files, a sample of real distribution versions.
func BenchmarkCompareShared(b *testing.B) {
	dir := sharedData(b)
	for _, f := range []struct {
		s    Scheme
		name string
	}{{Dpkg, "debian-versions-generated.txt"}, {APK, "alpine-versions-generated.txt"}, {RPM, "redhat-versions.txt"}} {
		lines, err := readPairs(filepath.Join(dir, "version_compare", f.name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.s.String(), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				l := lines[n%len(lines)]
				f.s.Compare(l.a, l.b)
				n++
			}
		})
	}
}

func BenchmarkValid(b *testing.B) {
	for _, s := range []Scheme{Dpkg, RPM, APK, Semver} {
		pairs := benchPairs[s]
		b.Run(s.String(), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := s.Validate(pairs[n%len(pairs)][0]); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}
