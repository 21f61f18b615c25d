package patchwave_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func pkg(name, version string) patchwave.Package {
	return patchwave.Package{Name: name, Version: version, Arch: "amd64"}
}

func TestDiffApplyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		var a, b []patchwave.Package
		for j := 0; j < 50; j++ {
			p := pkg("p"+string(rune('a'+j%26))+string(rune('a'+j/26)), "1."+string(rune('0'+r.IntN(3))))
			if r.IntN(3) > 0 {
				a = append(a, p)
			}
			if r.IntN(3) > 0 {
				b = append(b, p)
			}
		}
		a, b = patchwave.SortPackages(a), patchwave.SortPackages(b)
		d := patchwave.DiffPackages(a, b)
		if got := patchwave.ApplyDelta(a, d); !slices.Equal(got, b) {
			t.Fatalf("apply(diff(a,b)) != b\na=%v\nb=%v\nd=%+v\ngot=%v", a, b, d, got)
		}
		if d.Empty() != slices.Equal(a, b) {
			t.Fatalf("Empty()=%v for a==b %v", d.Empty(), slices.Equal(a, b))
		}
	}
}

func TestEncodeDecodeAndHash(t *testing.T) {
	ps := patchwave.SortPackages([]patchwave.Package{pkg("zlib1g", "1:1.2.13.dfsg-1"), pkg("bash", "5.2.15-2+b7"),
		{Name: "libc6", Version: "2.36-9+deb12u9", Arch: "i386", Source: "glibc"}, pkg("bash", "5.2.15-2+b7")})
	if len(ps) != 3 || ps[0].Name != "bash" {
		t.Fatalf("sort/dedupe: %v", ps)
	}
	back, err := patchwave.DecodePackages(patchwave.EncodePackages(ps))
	if err != nil || !slices.Equal(back, ps) {
		t.Fatalf("round trip %v %v", back, err)
	}
	h := patchwave.HashPackages(ps)
	ps2 := slices.Clone(ps)
	ps2[0].Version = "5.2.15-2+b8"
	if h == patchwave.HashPackages(ps2) || len(h) != 64 {
		t.Errorf("hash does not follow content: %s", h)
	}
	for _, bad := range []string{"a\tb\n", "a\tb\tc\td\te", "a\tb\tc\td\te\tf\n"} {
		if _, err := patchwave.DecodePackages([]byte(bad)); err == nil {
			t.Errorf("decoded corrupt set %q", bad)
		}
	}
}

func TestValidatePackages(t *testing.T) {
	for _, c := range []struct {
		p   patchwave.Package
		msg string
	}{
		{patchwave.Package{Version: "1"}, "no name"},
		{patchwave.Package{Name: "x"}, "no version"},
		{patchwave.Package{Name: "x y", Version: "1"}, "U+0020"},
		{patchwave.Package{Name: "x\xff", Version: "1"}, "UTF-8"},
		{patchwave.Package{Name: strings.Repeat("x", 600), Version: "1"}, "at most 512"},
	} {
		if err := c.p.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) || patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("%+v: %v, want %q", c.p, err, c.msg)
		}
	}
	if err := patchwave.ValidatePackages(make([]patchwave.Package, patchwave.MaxPackages+1)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("too many packages: %v", err)
	}
}

func TestValidation(t *testing.T) {
	for _, h := range []string{"web-01", "WEB01.example.org", "ünïcode"} {
		if err := patchwave.ValidHostname(h); err != nil {
			t.Errorf("%q: %v", h, err)
		}
	}
	for _, h := range []string{"", "a b", "a/b", "a\x00", strings.Repeat("a", 254), "\xff"} {
		if err := patchwave.ValidHostname(h); err == nil {
			t.Errorf("%q accepted", h)
		}
	}
	tags, err := patchwave.NormalizeTags([]string{"web", " qa", "web", ""})
	if err != nil || strings.Join(tags, ",") != "qa,web" {
		t.Errorf("tags %v %v", tags, err)
	}
	if _, err := patchwave.NormalizeTags([]string{"a,b"}); err == nil {
		t.Error("tag with comma accepted")
	}
	if _, err := patchwave.ParseTier("gold"); err == nil || !strings.Contains(err.Error(), "mission-critical") {
		t.Errorf("bad tier: %v", err)
	}
	f := patchwave.Facts{Hostname: "h", Interfaces: make([]patchwave.Interface, patchwave.MaxInterfaces+1)}
	if err := f.Validate(); err == nil {
		t.Error("too many interfaces accepted")
	}
	a := patchwave.Facts{Hostname: "h", UptimeSeconds: 1}
	b := patchwave.Facts{Hostname: "h", UptimeSeconds: 2}
	if a.Hash() != b.Hash() {
		t.Error("uptime changes the facts hash")
	}
	b.Kernel = "6.1"
	if a.Hash() == b.Hash() {
		t.Error("kernel does not change the facts hash")
	}
}

func TestUserCanWrite(t *testing.T) {
	sa := patchwave.User{Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}}
	if !sa.CanWrite("paris") || sa.CanWrite("berlin") || sa.CanWrite("") {
		t.Error("site admin scope")
	}
	for _, r := range []patchwave.Role{patchwave.RoleViewer, patchwave.RoleApprover} {
		if (patchwave.User{Role: r}).CanWrite("paris") {
			t.Errorf("%s can write", r)
		}
	}
}

func BenchmarkDecodePackages3000(b *testing.B) {
	ps := make([]patchwave.Package, 3000)
	for i := range ps {
		ps[i] = patchwave.Package{Name: "libexample" + strconv.Itoa(i), Version: "1.2.3-4+deb12u1", Arch: "amd64", Source: "example", SourceVersion: "1.2.3-4"}
	}
	enc := patchwave.EncodePackages(patchwave.SortPackages(ps))
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := patchwave.DecodePackages(enc); err != nil {
			b.Fatal(err)
		}
	}
}
