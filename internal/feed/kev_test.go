package feed

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseKEVReal(t *testing.T) {
	c, err := ParseKEV(bytes.NewReader(readShared(t, "kev/known_exploited_vulnerabilities.json")))
	if err != nil {
		t.Fatal(err)
	}
	// SOURCES.txt: catalogVersion 2025.08.25, 1404 entries.
	if c.Version != "2025.08.25" || len(c.Entries) != 1404 ||
		!c.Released.Equal(time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC)) {
		t.Errorf("version %q released %v entries %d", c.Version, c.Released, len(c.Entries))
	}
	ransomware := 0
	for _, k := range c.Entries {
		if k.Ransomware {
			ransomware++
		}
	}
	if ransomware != 293 {
		t.Errorf("%d entries with known ransomware use, want 293", ransomware)
	}
	first := c.Entries[0]
	if first.CVE != "CVE-2025-48384" || first.Vendor != "Git" || first.Product != "Git" ||
		first.Name != "Git Link Following Vulnerability" || first.Ransomware ||
		!first.DateAdded.Equal(time.Date(2025, 8, 25, 0, 0, 0, 0, time.UTC)) ||
		!first.DueDate.Equal(time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first entry %+v", first)
	}
	// The entries inherited from before BOD 22-01 are due before they were added.
	for _, k := range c.Entries {
		if k.CVE == "CVE-2021-34527" && (k.DueDate.Format(time.DateOnly) != "2021-07-20" || k.DateAdded.Format(time.DateOnly) != "2021-11-03") {
			t.Errorf("PrintNightmare %+v", k)
		}
	}

	s, err := ParseKEV(bytes.NewReader(readShared(t, "kev/kev_sample.json")))
	if err != nil || len(s.Entries) != 40 {
		t.Errorf("sample: %d entries, %v", len(s.Entries), err)
	}
}

func TestParseKEVInvalid(t *testing.T) {
	entry := func(id, added, due, rw string) string {
		return `{"cveID":"` + id + `","dateAdded":"` + added + `","dueDate":"` + due + `","knownRansomwareCampaignUse":"` + rw + `"}`
	}
	ok := entry("CVE-2021-44228", "2021-12-10", "2021-12-24", "Known")
	for _, tc := range []struct{ name, in, want string }{
		{"empty", ``, "invalid JSON"},
		{"no array", `{"catalogVersion":"1"}`, "no vulnerabilities"},
		{"count", `{"count":2,"vulnerabilities":[` + ok + `]}`, "count says 2 entries, 1 present"},
		{"bad id", `{"vulnerabilities":[` + entry("CVE-21-1", "2021-12-10", "2021-12-24", "Known") + `]}`, "not a CVE id"},
		{"dup", `{"vulnerabilities":[` + ok + `,` + ok + `]}`, "CVE-2021-44228 appears twice"},
		{"bad date", `{"vulnerabilities":[` + entry("CVE-2021-44228", "12/10/2021", "2021-12-24", "Known") + `]}`, "CVE-2021-44228: dateAdded"},
		{"bad due", `{"vulnerabilities":[` + entry("CVE-2021-44228", "2021-12-10", "", "Known") + `]}`, "dueDate"},
		{"ransomware", `{"vulnerabilities":[` + entry("CVE-2021-44228", "2021-12-10", "2021-12-24", "Yes") + `]}`, "neither Known nor Unknown"},
		{"released", `{"dateReleased":"today","vulnerabilities":[]}`, "dateReleased"},
	} {
		_, err := ParseKEV(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	c, err := ParseKEV(strings.NewReader(`{"vulnerabilities":[` + ok + `]}`))
	if err != nil || len(c.Entries) != 1 || !c.Entries[0].Ransomware {
		t.Errorf("minimal: %+v %v", c, err)
	}
}

func TestIsCVE(t *testing.T) {
	for s, want := range map[string]bool{
		"CVE-2021-44228": true, "CVE-1999-0001": true, "CVE-2024-1234567": true,
		"CVE-2021-123": false, "cve-2021-44228": false, "CVE-2021-4422a": false, "CVE-20211-4422": false,
		"": false, "CVE-2021-12345678901234567890": false,
	} {
		if IsCVE(s) != want {
			t.Errorf("IsCVE(%q) = %v", s, !want)
		}
	}
}

func FuzzParseKEV(f *testing.F) {
	f.Add([]byte(`{"catalogVersion":"1","dateReleased":"2025-08-25T17:04:19.9796Z","count":1,"vulnerabilities":[{"cveID":"CVE-2021-44228","dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"}]}`))
	f.Add([]byte(`{"vulnerabilities":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseKEV(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, k := range c.Entries {
			if !IsCVE(k.CVE) || k.DateAdded.IsZero() || k.DueDate.IsZero() {
				t.Fatalf("accepted %+v", k)
			}
		}
	})
}
