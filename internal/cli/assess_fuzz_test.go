package cli

import (
	"strings"
	"testing"
)

func FuzzParsePurl(f *testing.F) {
	for _, s := range []string{
		"pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
		"pkg:rpm/almalinux/openssl@3.0.7-27.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm&distro=almalinux-9.4",
		"pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18",
		"pkg:npm/left-pad@1.0.0", "pkg:deb/x@", "pkg:deb/%zz@1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, _, ok := parsePurl(s)
		if !ok {
			return
		}
		if p.Name == "" || p.Version == "" {
			t.Fatalf("parsePurl(%q) = %+v without a name or version", s, p)
		}
		if !strings.HasPrefix(s, "pkg:deb/") && !strings.HasPrefix(s, "pkg:rpm/") && !strings.HasPrefix(s, "pkg:apk/") {
			t.Fatalf("parsePurl(%q) took a package URL of another type", s)
		}
	})
}

func FuzzReadCycloneDX(f *testing.F) {
	f.Add([]byte(`{"metadata":{"component":{"type":"operating-system","name":"debian","version":"12"}},
	 "components":[{"type":"library","name":"bash","version":"5.2.15-2+b8","purl":"pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64"}]}`))
	f.Add([]byte(`{"components":[{"purl":"pkg:rpm/almalinux/x@1-1?distro=almalinux-9"}]}`))
	f.Add([]byte(`{"components":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h assessHost
		if err := readCycloneDX(b, &h); err != nil {
			return
		}
		if len(h.pkgs) == 0 {
			t.Fatalf("an SBOM read without error has no packages")
		}
	})
}
