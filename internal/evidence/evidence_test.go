package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))

func bundle(t testing.TB) []byte {
	b, err := Bytes("2026-12", "admin", time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), []File{
		{"release.json", []byte(`{"name":"2026-12"}`)},
		{"waves/0/events.json", []byte(`[{"kind":"started"}]`)},
		{"approvals.json", []byte(`[{"actor":"ann","reason":"tested in lab"}]`)},
	}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type entry struct {
	hdr  tar.Header
	data []byte
}

// repack rewrites a bundle after edit changed its entries.
func repack(t *testing.T, b []byte, edit func([]entry) []entry) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var es []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(tr)
		es = append(es, entry{*h, d})
	}
	es = edit(es)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		e.hdr.Size = int64(len(e.data))
		if e.hdr.Typeflag != tar.TypeReg {
			e.hdr.Size = 0
		}
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	m, files, err := Verify(bytes.NewReader(bundle(t)), testKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if m.Release != "2026-12" || m.CreatedBy != "admin" || len(files) != 3 || files[1].Name != "waves/0/events.json" || len(m.Files) != 3 {
		t.Errorf("manifest %+v, files %d", m, len(files))
	}
	sum := sha256.Sum256([]byte(`{"name":"2026-12"}`))
	if m.Files[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s", m.Files[0].SHA256)
	}
	if pub, err := ParsePublicKey(m.PublicKey); err != nil || !pub.Equal(testKey.Public()) {
		t.Errorf("public key in the manifest: %v", err)
	}
}

func TestTampering(t *testing.T) {
	pub := testKey.Public().(ed25519.PublicKey)
	orig := bundle(t)
	find := func(es []entry, name string) int {
		for i, e := range es {
			if e.hdr.Name == name {
				return i
			}
		}
		t.Fatalf("no %s", name)
		return -1
	}
	cases := []struct {
		name string
		edit func([]entry) []entry
		want string
	}{
		{"changed file", func(es []entry) []entry {
			es[find(es, "approvals.json")].data = []byte(`[{"actor":"ann","reason":"skipped testing"}]`)
			return es
		}, "approvals.json does not match its SHA-256"},
		{"same size change", func(es []entry) []entry {
			i := find(es, "release.json")
			es[i].data = bytes.Replace(es[i].data, []byte("12"), []byte("11"), 1)
			return es
		}, "release.json does not match"},
		{"removed file", func(es []entry) []entry {
			return append(es[:find(es, "release.json")], es[find(es, "release.json")+1:]...)
		},
			"release.json listed in the manifest but missing"},
		{"added file", func(es []entry) []entry {
			return append(es, entry{tar.Header{Name: "extra.json", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("{}")})
		}, "extra.json is not in the manifest"},
		{"renamed file", func(es []entry) []entry { es[find(es, "approvals.json")].hdr.Name = "approvals2.json"; return es },
			"approvals2.json is not in the manifest"},
		{"manifest edited to match", func(es []entry) []entry {
			i := find(es, ManifestName)
			es[i].data = bytes.Replace(es[i].data, []byte(`"admin"`), []byte(`"alice"`), 1)
			return es
		}, "signature does not verify"},
		{"signature removed", func(es []entry) []entry {
			return append(es[:find(es, SignatureName)], es[find(es, SignatureName)+1:]...)
		},
			"manifest.sig is missing"},
		{"signature garbage", func(es []entry) []entry { es[find(es, SignatureName)].data = []byte("!!!"); return es }, "not a base64 Ed25519 signature"},
		{"duplicate", func(es []entry) []entry { return append(es, es[find(es, "release.json")]) }, "appears twice"},
		{"symlink", func(es []entry) []entry {
			return append(es, entry{tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, nil})
		}, `"link" is not a regular file`},
		{"path traversal", func(es []entry) []entry {
			return append(es, entry{tar.Header{Name: "../../etc/cron.d/x", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("x")})
		}, "not a plain relative path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Verify(bytes.NewReader(repack(t, orig, c.edit)), pub)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Verify = %v, want %q", err, c.want)
			}
		})
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey)
	if _, _, err := Verify(bytes.NewReader(orig), other); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: %v", err)
	}
	for name, b := range map[string][]byte{"empty": nil, "not gzip": []byte("hello"), "cut": orig[:len(orig)/2]} {
		if _, _, err := Verify(bytes.NewReader(b), pub); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if _, _, err := Verify(bytes.NewReader(orig), pub[:10]); err == nil || !strings.Contains(err.Error(), "public key has 10 bytes") {
		t.Errorf("short key: %v", err)
	}
}

func TestWriteRefusesBadNames(t *testing.T) {
	for _, n := range []string{"", "/abs", "../x", "a/../b", "a\\b", "manifest.json", "a\nb", strings.Repeat("x", 300), "./a"} {
		if _, err := Bytes("r", "a", time.Now(), []File{{n, nil}}, testKey); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	if _, err := Bytes("r", "a", time.Now(), []File{{"a", nil}, {"a", nil}}, testKey); err == nil {
		t.Error("duplicate accepted")
	}
}

func TestParsePublicKey(t *testing.T) {
	pub := testKey.Public().(ed25519.PublicKey)
	for _, s := range []string{hex.EncodeToString(pub), " " + hex.EncodeToString(pub) + "\n"} {
		if k, err := ParsePublicKey(s); err != nil || !k.Equal(pub) {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "abc", strings.Repeat("00", 31), strings.Repeat("z", 64)} {
		if _, err := ParsePublicKey(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// FuzzVerify: no input makes Verify panic or accept a bundle the key did
// not sign.
func FuzzVerify(f *testing.F) {
	f.Add(bundle(f))
	f.Add([]byte{0x1f, 0x8b})
	pub := testKey.Public().(ed25519.PublicKey)
	orig := bundle(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, err := Verify(bytes.NewReader(b), pub)
		if err == nil && !bytes.Equal(b, orig) {
			// Another encoding of the same signed content is fine; a
			// different manifest is not possible without the key.
			m, _, _ := Verify(bytes.NewReader(b), pub)
			if m.Release != "2026-12" {
				t.Errorf("accepted a bundle of %q", m.Release)
			}
		}
	})
}
