package feed

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func TestCheckVersions(t *testing.T) {
	entry := func(eco, name, typ, fixed string) string {
		return `{"package":{"ecosystem":"` + eco + `","name":"` + name + `"},"ranges":[{"type":"` + typ + `","events":[{"introduced":"0"},{"fixed":"` + fixed + `"}]}]}`
	}
	rec := func(id string, entries ...string) string {
		return `{"id":"` + id + `","modified":"2024-01-02T03:04:05Z","affected":[` + strings.Join(entries, ",") + `]}`
	}
	for _, tc := range []struct {
		name    string
		rec     string
		kept    []string // names of the affected entries left
		wantErr string   // in the first error; "" for none
	}{
		{"valid", rec("OK", entry("Debian:12", "openssl", "ECOSYSTEM", "3.0.11-1~deb12u2")), []string{"openssl"}, ""},
		{"invalid fixed", rec("BAD-VER", entry("Ubuntu:22.04:LTS", "x", "ECOSYSTEM", "1:::!!")), nil,
			`BAD-VER: affected[0] (Ubuntu:22.04:LTS/x) dropped: ranges[0].events[1].fixed: invalid dpkg version "1:::!!"`},
		{"unknown ecosystem", rec("UNK", entry("Nonsense:1", "x", "ECOSYSTEM", "1")), nil, `ecosystem "Nonsense:1" has no known version ordering`},
		{"one of two bad", rec("MIX", entry("AlmaLinux:9", "bash", "ECOSYSTEM", "0:5.1.8-9.el9"), entry("AlmaLinux:9", "zsh", "ECOSYSTEM", "5.8-9!el9")),
			[]string{"bash"}, `MIX: affected[1] (AlmaLinux:9/zsh) dropped: ranges[0].events[1].fixed: invalid rpm version`},
		{"semver range", rec("SEM", entry("Alpine:v3.19", "a", "SEMVER", "1.2")), nil, "invalid semver version"},
		{"git range", rec("GIT", `{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[{"type":"GIT","repo":"https://x","events":[{"introduced":"0"},{"fixed":"deadbeef!"}]}]}`),
			[]string{"a"}, ""},
		{"bad versions list", rec("VL", `{"package":{"ecosystem":"Alpine:v3.19","name":"a"},"versions":["1.2.3-r0","1..2"]}`), nil, "versions[1]: invalid apk version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseOSV([]byte(tc.rec))
			if err != nil {
				t.Fatal(err)
			}
			errs := CheckVersions(&a)
			var kept []string
			for _, af := range a.Affected {
				kept = append(kept, af.Package.Name)
			}
			if strings.Join(kept, ",") != strings.Join(tc.kept, ",") {
				t.Errorf("kept %v, want %v", kept, tc.kept)
			}
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Errorf("errors %v", errs)
			case tc.wantErr != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.wantErr)):
				t.Errorf("errors %v, want %q", errs, tc.wantErr)
			}
		})
	}

	// A withdrawn record is kept as it is, to retract what it said.
	w, _ := ParseOSV([]byte(`{"id":"W","modified":"2024-01-02T03:04:05Z","withdrawn":"2024-01-03T00:00:00Z","affected":[` + entry("Nonsense:1", "x", "ECOSYSTEM", "1") + `]}`))
	if errs := CheckVersions(&w); len(errs) > 0 || len(w.Affected) != 1 {
		t.Errorf("withdrawn: %v %v", errs, w.Affected)
	}

	// Reading skips the records left empty, keeps the rest and reports
	// both, with the file's name.
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a.json": rec("OK", entry("Debian:12", "openssl", "ECOSYSTEM", "3.0.11-1~deb12u2")),
		"b.json": rec("BAD-VER", entry("Ubuntu:22.04:LTS", "x", "ECOSYSTEM", "1:::!!")),
		"c.json": rec("MIX", entry("Debian:12", "a", "ECOSYSTEM", "1.0-1"), entry("Nonsense:1", "x", "ECOSYSTEM", "1")),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	st, err := ReadOSV(context.Background(), dir, func(_ string, a patchwave.Advisory) error { ids = append(ids, a.ID); return nil })
	if err != nil || st.Records != 2 || st.Skipped != 1 || st.Dropped != 2 || len(st.Errors) != 2 || strings.Join(ids, ",") != "OK,MIX" {
		t.Fatalf("%+v %v %v", st, ids, err)
	}
	if !strings.HasPrefix(st.Errors[0].Error(), "b.json (BAD-VER): affected[0]") || !strings.HasPrefix(st.Errors[1].Error(), "c.json (MIX): affected[1]") {
		t.Errorf("errors: %v", st.Errors)
	}
}
