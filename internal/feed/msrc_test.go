package feed

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestParseCVRFXMLReal(t *testing.T) {
	rel, err := ParseCVRF(bytes.NewReader(readShared(t, "msrc/cvrf-2024-Mar.trimmed.xml")))
	if err != nil {
		t.Fatal(err)
	}
	if rel.ID != "2024-Mar" || rel.Title != "March 2024 Security Updates" ||
		!rel.Released.Equal(time.Date(2024, 3, 12, 7, 0, 0, 0, time.UTC)) ||
		!rel.Updated.Equal(time.Date(2024, 4, 9, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("release %q %q %v %v", rel.ID, rel.Title, rel.Released, rel.Updated)
	}
	if len(rel.Products) != 7 || rel.Products["12130"] != ".NET 7.0" || rel.Products["11622"] != "Visual Studio Code" {
		t.Errorf("products %v", rel.Products)
	}
	if len(rel.Vulns) != 1 {
		t.Fatalf("%d vulns", len(rel.Vulns))
	}
	v := rel.Vulns[0]
	if v.CVE != "CVE-2024-21392" || v.Title != ".NET and Visual Studio Denial of Service Vulnerability" ||
		v.Severity != "Important" || v.Level() != patchwave.SeverityHigh || v.CVSS != 7.5 || v.Exploited ||
		v.Vector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H/E:P/RL:O/RC:C" || len(v.Remediations) != 6 {
		t.Errorf("vuln %+v", v)
	}
	r := v.Remediations[1]
	want := MSRCRemediation{Type: "Vendor Fix", SubType: "Monthly Rollup", KB: "5036451", Description: "5036451",
		URL: "https://dotnet.microsoft.com/en-us/download/dotnet/7.0", FixedBuild: "7.0.17", ProductIDs: []string{"12130"}, Restart: "Maybe"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("remediation\n got %+v\nwant %+v", r, want)
	}
	if r := v.Remediations[0]; r.KB != "" || r.Description != "Release Notes" || r.FixedBuild != "17.9.3" {
		t.Errorf("remediation 0 %+v", r)
	}
}

func TestParseCVRFJSON(t *testing.T) {
	f, err := os.Open("testdata/cvrf-handwritten.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rel, err := ParseCVRF(f)
	if err != nil {
		t.Fatal(err)
	}
	if rel.ID != "2024-Mar" || len(rel.Products) != 4 || rel.Products["11924"] != "Windows Server 2022 (Server Core installation)" ||
		!rel.Released.Equal(time.Date(2024, 3, 12, 7, 0, 0, 0, time.UTC)) || len(rel.Vulns) != 2 {
		t.Fatalf("release %+v", rel)
	}
	w := rel.Vulns[1]
	if w.Severity != "Critical" || w.Level() != patchwave.SeverityCritical || w.CVSS != 8.8 || !w.Exploited ||
		w.Vector != "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H" {
		t.Errorf("windows vuln %+v", w)
	}
	want := MSRCRemediation{Type: "Vendor Fix", SubType: "Security Update", KB: "5035857", Description: "5035857",
		URL: "https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5035857", FixedBuild: "10.0.20348.2340",
		ProductIDs: []string{"11923", "11924"}, Supercedence: "5034770", Restart: "Yes"}
	if !reflect.DeepEqual(w.Remediations[0], want) {
		t.Errorf("remediation\n got %+v\nwant %+v", w.Remediations[0], want)
	}
	if r := w.Remediations[1]; r.Type != "Workaround" || r.KB != "" {
		t.Errorf("workaround %+v", r)
	}

	// The CVE both forms hold reads the same from either.
	x, err := ParseCVRF(bytes.NewReader(readShared(t, "msrc/cvrf-2024-Mar.trimmed.xml")))
	if err != nil {
		t.Fatal(err)
	}
	j := rel.Vulns[0]
	j.Remediations = j.Remediations[:2]
	xv := x.Vulns[0]
	xv.Remediations = xv.Remediations[:2]
	if !reflect.DeepEqual(j, xv) {
		t.Errorf("JSON and XML differ:\n%+v\n%+v", j, xv)
	}
}

func TestParseCVRFInvalid(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "neither JSON nor XML"},
		{"text", "hello", "neither JSON nor XML"},
		{"bad json", `{"DocumentTitle":`, "CVRF JSON"},
		{"bad xml", `<cvrfdoc><DocumentTitle>`, "CVRF XML"},
		{"no id", `{"DocumentTitle":{"Value":"x"}}`, "no DocumentTracking"},
		{"no cve", `{"DocumentTracking":{"Identification":{"ID":{"Value":"2024-Mar"}}},"Vulnerability":[{"Title":{"Value":"T"}}]}`, `2024-Mar: vulnerability 0 ("T") has no CVE`},
		{"bad date", `{"DocumentTracking":{"Identification":{"ID":{"Value":"2024-Mar"}},"InitialReleaseDate":"March"}}`, "InitialReleaseDate"},
		{"bad type", `{"DocumentTracking":{"Identification":{"ID":{"Value":"X"}}},"Vulnerability":[{"CVE":"CVE-2024-1","Remediations":[{"Type":99}]}]}`, "unknown remediation type 99"},
		{"bad score", `{"DocumentTracking":{"Identification":{"ID":{"Value":"X"}}},"Vulnerability":[{"CVE":"CVE-2024-1","CVSSScoreSets":[{"BaseScore":11}]}]}`, "out of range"},
		{"bad xml score", `<cvrfdoc><DocumentTracking><Identification><ID>X</ID></Identification></DocumentTracking><Vulnerability><CVE>CVE-1</CVE><CVSSScoreSets><ScoreSet><BaseScore>high</BaseScore></ScoreSet></CVSSScoreSets></Vulnerability></cvrfdoc>`, "not a number"},
	} {
		_, err := ParseCVRF(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseMSRCUpdates(t *testing.T) {
	us, err := ParseMSRCUpdates(bytes.NewReader(readShared(t, "msrc/cvrf-v3.0-updates.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []MSRCUpdate{
		{ID: "2016-Apr", Alias: "2016-Apr", Title: "April 2016 Security Updates",
			Released: time.Date(2016, 4, 12, 7, 0, 0, 0, time.UTC), Updated: time.Date(2018, 4, 10, 7, 0, 0, 0, time.UTC),
			URL: "https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/2016-Apr"},
		{ID: "2024-Mar", Alias: "2024-Mar", Title: "March 2024 Security Updates",
			Released: time.Date(2024, 3, 12, 7, 0, 0, 0, time.UTC), Updated: time.Date(2024, 4, 9, 7, 0, 0, 0, time.UTC),
			URL: "https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/2024-Mar"},
	}
	if !reflect.DeepEqual(us, want) {
		t.Errorf("got %+v", us)
	}
	for _, in := range []string{``, `{}`, `{"value":[{"ID":"2024-Mar"}]}`, `{"value":[{"ID":"X","CvrfUrl":"u","InitialReleaseDate":"soon"}]}`} {
		if _, err := ParseMSRCUpdates(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func FuzzParseCVRF(f *testing.F) {
	if b, err := os.ReadFile("testdata/cvrf-handwritten.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<cvrfdoc><DocumentTracking><Identification><ID>X</ID></Identification></DocumentTracking><ProductTree><Branch><FullProductName ProductID="1">A</FullProductName></Branch></ProductTree><Vulnerability><CVE>CVE-1</CVE><Threats><Threat Type="Exploit Status"><Description>Exploited:Yes</Description></Threat></Threats><Remediations><Remediation Type="Vendor Fix"><Description>5000001</Description><ProductID>1</ProductID><FixedBuild>10.0.1.2</FixedBuild></Remediation></Remediations></Vulnerability></cvrfdoc>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rel, err := ParseCVRF(bytes.NewReader(b))
		if err != nil {
			return
		}
		if rel.ID == "" {
			t.Fatal("accepted a document without ID")
		}
		for _, v := range rel.Vulns {
			if v.CVE == "" || v.CVSS < 0 || v.CVSS > 10 {
				t.Fatalf("accepted %+v", v)
			}
		}
	})
}

func FuzzParseMSRCUpdates(f *testing.F) {
	f.Add([]byte(`{"value":[{"ID":"2024-Mar","Alias":"2024-Mar","DocumentTitle":"March 2024 Security Updates",
	 "InitialReleaseDate":"2024-03-12T07:00:00Z","CurrentReleaseDate":"2024-03-20T07:00:00Z","CvrfUrl":"https://example.org/cvrf/2024-Mar"}]}`))
	f.Add([]byte(`{"value":[]}`))
	f.Add([]byte(`{"value":[{"ID":"x"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := ParseMSRCUpdates(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, u := range us {
			if u.ID == "" || u.URL == "" {
				t.Fatalf("update without an ID or URL: %+v", u)
			}
		}
	})
}
