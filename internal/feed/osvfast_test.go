package feed

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/patchwave/patchwave"
)

// checkFast decodes b both ways; when the fast path accepts b, its result
// must be encoding/json's exactly.
func checkFast(t testing.TB, name string, b []byte) bool {
	fast, ok := decodeOSVFast(b)
	var slow patchwave.Advisory
	err := json.Unmarshal(b, &slow)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%s: fast path accepted what encoding/json refuses (%v):\n%q", name, err, b)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s: fast path differs from encoding/json:\nfast %+v\njson %+v\ninput %q", name, fast, slow, b)
	}
	return true
}

// TestOSVFastMatchesJSONReal runs both decoders over every real record.
func TestOSVFastMatchesJSONReal(t *testing.T) {
	root := filepath.Dir(sharedData(t, "ubuntu_osv"))
	total, fast := 0, 0
	for _, z := range []string{"ubuntu-cve-tracker-osv/all.zip", "almalinux-all/all.zip"} {
		zr, err := zip.OpenReader(filepath.Join(root, z))
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range zr.File {
			if testing.Short() && i%10 != 0 {
				continue // -short: a tenth of each archive
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			total++
			if checkFast(t, z+"!"+f.Name, b) {
				fast++
			}
		}
		zr.Close()
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total++
		if checkFast(t, f, b) {
			fast++
		}
	}
	t.Logf("fast path decoded %d of %d records", fast, total)
	if fast < total*99/100 {
		t.Errorf("fast path decoded only %d of %d records", fast, total)
	}
}

func TestOSVFastGivesUp(t *testing.T) {
	for _, in := range []string{
		`{"ID":"X","modified":"2024-01-02T03:04:05Z"}`,                        // folded key
		`{"id":"X","id":"Y","modified":"2024-01-02T03:04:05Z"}`,               // repeated key
		`{"id":null,"modified":"2024-01-02T03:04:05Z"}`,                       // null
		`{"id":"X","modified":"2024-01-02T03:04:05Z","aliases":[null]}`,       // null element
		`{"id":"X","modified":"2024-01-02T03:04:05Z","x":[01]}`,               // bad number
		`{"id":"X","modified":"2024-01-02T03:04:05Z"} x`,                      // trailing
		`{"id":"X","modified":"2024-01-02T03:04:05Z","x":"\q"}`,               // bad escape
		"{\"id\":\"X\",\"modified\":\"2024-01-02T03:04:05Z\",\"x\":\"\x01\"}", // control
		`{"id":"X","modified":"2024-01-02T03:04:05Z","database_specific":null}`,
		`{"id":"X","modified":"2024-01-02T03:04:05Z","affected":[{"ranges":{}}]}`,
		`{"id":"X","modified":"2024-01-02 03:04:05"}`,
		"\ufeff{}",
	} {
		if _, ok := decodeOSVFast([]byte(in)); ok {
			t.Errorf("fast path accepted %s", in)
		}
	}
	// Escapes and Unicode are decoded, through encoding/json for the string.
	for _, in := range []string{
		`{"id":"X","modified":"2024-01-02T03:04:05Z","details":"line\nnext \u00e9 \ud83d\ude00 \ud800 é"}`,
		"{\"id\":\"X\",\"modified\":\"2024-01-02T03:04:05Z\",\"summary\":\"bad \xff utf8\"}",
		`{"id":"X","modified":"2024-01-02T03:04:05Z","aliases":[],"x":{"a":[1,-2.5e+3,true,false,null,{}]},"database_specific":{"a" : 1}}`,
	} {
		if !checkFast(t, "escapes", []byte(in)) {
			t.Errorf("fast path gave up on %s", in)
		}
	}
}

func FuzzOSVFastMatchesJSON(f *testing.F) {
	f.Add([]byte(minimalOSV))
	f.Add([]byte(`{"id":"X","modified":"2024-01-02T03:04:05Z","published":"2024-01-02T03:04:05+01:00","details":"a\"b\u00e9","severity":[{"type":"CVSS_V3","score":"s"}],"references":[{"type":"WEB","url":"u"}],"affected":[{"package":{"ecosystem":"e","name":"n","purl":"p"},"versions":["1"],"severity":[],"ecosystem_specific":{"binaries":[{"a":"b"}]},"database_specific":[1,2]}],"database_specific":"x"}`))
	f.Add([]byte(`{"Id":"X","modified":"2024-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"id":"X","modified":"2024-01-02T03:04:05Z","unknown":[[[{"x":-0.1e5}]]],"withdrawn":"2025-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast(t, "fuzz", b)
	})
}
