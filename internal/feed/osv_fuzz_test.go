package feed

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func FuzzParseOSV(f *testing.F) {
	f.Add([]byte(minimalOSV))
	f.Add([]byte(`{"id":"G-1","modified":"2024-01-02T03:04:05Z","affected":[{"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"0"},{"limit":"x"}]}]}]}`))
	f.Add([]byte(`{"id":"W-1","modified":"2024-01-02T03:04:05Z","withdrawn":"2024-02-02T03:04:05Z","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"openssh"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"1:8.9p1-3"}]}],"versions":["1"],"ecosystem_specific":{"binaries":[{"x":"y"}]}}]}`))
	f.Add([]byte(`{"id":"X","modified":"2024-01-02T03:04:05Z","database_specific":null,"affected":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseOSV(b)
		if err != nil {
			if patchwave.ErrorCode(err) != patchwave.EInvalid {
				t.Fatalf("error code %q: %v", patchwave.ErrorCode(err), err)
			}
			return
		}
		if a.ID == "" || a.Modified.IsZero() {
			t.Fatalf("accepted %+v", a)
		}
		for _, af := range a.Affected {
			for _, r := range af.Ranges {
				intro := false
				for _, e := range r.Events {
					intro = intro || e.Introduced != ""
				}
				if !intro {
					t.Fatalf("accepted a range without introduced: %+v", r)
				}
			}
		}
		// Decoding is deterministic.
		b2, err := ParseOSV(b)
		if err != nil || b2.ID != a.ID {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

func FuzzReadOSVZip(f *testing.F) {
	f.Add(zipOf(f, "A-1.json", record("A-1"), "B-1.json", record("B-1")))
	f.Add(zipOf(f, "x/../A.json", record("A")))
	f.Add(zipOf(f, "bad.json", `{"id":`, "ok.json", record("OK")))
	f.Fuzz(func(t *testing.T, z []byte) {
		for _, o := range []Options{{}, {SkipInvalid: true, Workers: 3, Ecosystems: []string{"Debian:12"}}} {
			var last string
			st, err := o.ReadOSVZip(context.Background(), bytes.NewReader(z), int64(len(z)), func(name string, a patchwave.Advisory) error {
				if name < last {
					t.Fatalf("order: %s after %s", name, last)
				}
				last = name
				for _, el := range strings.Split(strings.ReplaceAll(name, `\`, "/"), "/") {
					if el == ".." {
						t.Fatalf("hostile name %q passed", name)
					}
				}
				return nil
			})
			if err == nil && st.Records+st.Skipped+st.Filtered == 0 && st.Bytes != 0 {
				t.Fatalf("read %d bytes for nothing", st.Bytes)
			}
		}
	})
}
