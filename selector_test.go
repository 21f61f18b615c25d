package patchwave_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func TestParseSelectorCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"*", ""},
		{" * ", ""},
		{"tier=lab", "tier=lab"},
		{"TIER=LAB", "tier=lab"},
		{"site=paris tier=lab", "tier=lab,site=paris"},
		{"site=paris,tier=lab", "tier=lab,site=paris"},
		{"site=paris ,\t tier=lab\n", "tier=lab,site=paris"},
		{"tier=mission-critical|lab", "tier=lab|mission-critical"},
		{"tier=lab|lab", "tier=lab"},
		{"tier=lab tier=lab", "tier=lab"},
		{"tier!=lab tier=lab", "tier=lab,tier!=lab"},
		{"tag=b tag=a", "tag=a,tag=b"},
		{"tag=Web", "tag=Web"}, // tags and sites keep their case
		{"os=Debian:12", "os=debian:12"},
		{"host=WEB-*.Example.com", "host=web-*.example.com"},
		{"managed=TRUE exposure=High", "exposure=high,managed=true"},
		{"managed=false|true", "managed=false|true"},
		{"os=rhel host=db* site!=lyon tag=pci tier=lab exposure=normal managed=true",
			"tier=lab,site!=lyon,tag=pci,os=rhel,host=db*,exposure=normal,managed=true"},
		{"site=a=b", "site=a=b"}, // '=' after the first is part of the value
	} {
		s, err := patchwave.ParseSelector(tc.in)
		if err != nil {
			t.Errorf("ParseSelector(%q): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseSelector(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		if s.IsZero() != (tc.want == "") {
			t.Errorf("ParseSelector(%q).IsZero() = %v", tc.in, s.IsZero())
		}
		again, err := patchwave.ParseSelector(s.String())
		if err != nil || !again.Equal(s) {
			t.Errorf("round trip of %q: %v, %q", tc.in, err, again)
		}
	}
}

func TestParseSelectorErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tier", `"tier": want key=value`},
		{"tier=lab bogus", `"bogus": want key=value`},
		{"colour=red", `unknown key "colour"`},
		{"=lab", "has no key"},
		{"!=lab", "has no key"},
		{"tier=", "empty value"},
		{"tier!=", "empty value"},
		{"tier=lab|", "empty value"},
		{"tier=|lab", "empty value"},
		{"tier=gold", `unknown tier "gold"`},
		{"exposure=medium", `exposure "medium": want high or normal`},
		{"managed=yes", `managed "yes": want true or false`},
		{"os=:12", "no id"},
		{"os=debian:", "no version"},
		{"site=a\x00b", "control character"},
		{"site=\xff", "not valid UTF-8"},
		{"* tier=lab", `"*" (all hosts) cannot be combined`},
		{"tier!!=lab", `unknown key "tier!"`},
		{strings.Repeat("tag=a ", 65), "at most 64"},
		{"tag=" + strings.Repeat("a", 5000), "at most 4096"},
		{"host=" + strings.Repeat("a", 300), "at most 253"},
	} {
		_, err := patchwave.ParseSelector(tc.in)
		if err == nil {
			t.Errorf("ParseSelector(%q) succeeded, want error containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSelector(%q) = %q, want it to contain %q", tc.in, err, tc.want)
		}
		if patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("ParseSelector(%q) error code %q, want invalid", tc.in, patchwave.ErrorCode(err))
		}
	}
}

func TestSelectorMatches(t *testing.T) {
	web := patchwave.Host{Hostname: "web-01", FQDN: "web-01.paris.example.com", Site: "paris", Tier: patchwave.TierMissionCritical,
		Tags: []string{"pci", "web"}, OS: patchwave.OS{Family: "debian", ID: "debian", Version: "12"}, Managed: true}
	alma := patchwave.Host{Hostname: "DB1", Site: "lyon", Tier: patchwave.TierBusinessCritical,
		OS: patchwave.OS{Family: "rhel", ID: "almalinux", Version: "9.4"}, Managed: true}
	laptop := patchwave.Host{Hostname: "ceo-laptop", Tier: patchwave.TierBusinessOperational, HighExposure: true,
		OS: patchwave.OS{Family: "windows", ID: "windows", Version: "10.0.22631"}}
	bare := patchwave.Host{Hostname: "x"}
	hosts := map[string]patchwave.Host{"web": web, "alma": alma, "laptop": laptop, "bare": bare}
	for _, tc := range []struct {
		sel  string
		want string // the hosts it matches, in the order web alma laptop bare
	}{
		{"", "web alma laptop bare"},
		{"*", "web alma laptop bare"},
		{"tier=mission-critical", "web"},
		{"tier=mission-critical|business-critical", "web alma"},
		{"tier!=mission-critical", "alma laptop bare"},
		{"tier!=mission-critical|lab", "alma laptop bare"},
		{"site=paris", "web"},
		{"site=Paris", ""},
		{"site!=paris", "alma laptop bare"},
		{"tag=pci", "web"},
		{"tag=pci tag=web", "web"},
		{"tag=pci tag=db", ""},
		{"tag=db|web", "web"},
		{"tag!=pci", "alma laptop bare"},
		{"os=debian", "web"},
		{"os=rhel", "alma"},
		{"os=almalinux:9", "alma"},
		{"os=almalinux:9.4", "alma"},
		{"os=almalinux:9.5", ""},
		{"os=rhel:9", "alma"},
		{"os=debian:1", ""}, // a prefix at a dot boundary only
		{"os=debian:12", "web"},
		{"os=windows:10", "laptop"},
		{"os=windows:10.0.2", ""},
		{"os!=windows", "web alma bare"},
		{"host=web-01", "web"},
		{"host=web-*", "web"},
		{"host=*.paris.example.com", "web"},
		{"host=db1", "alma"}, // hostnames ignore case
		{"host=*", "web alma laptop bare"},
		{"host=*-*", "web laptop"},
		{"host=w*b*1", "web"},
		{"host!=web-*|db*", "laptop bare"},
		{"exposure=high", "laptop"},
		{"exposure=normal", "web alma bare"},
		{"exposure!=high", "web alma bare"},
		{"managed=true", "web alma"},
		{"managed=false", "laptop bare"},
		{"managed=true|false", "web alma laptop bare"},
		{"managed=true tier=business-critical os=rhel site=lyon", "alma"},
		{"managed=true,tier!=business-critical", "web"},
	} {
		s, err := patchwave.ParseSelector(tc.sel)
		if err != nil {
			t.Fatalf("ParseSelector(%q): %v", tc.sel, err)
		}
		var got []string
		for _, name := range []string{"web", "alma", "laptop", "bare"} {
			if s.Matches(hosts[name]) {
				got = append(got, name)
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%q matches [%s], want [%s]", tc.sel, g, tc.want)
		}
	}
}

func TestSelectorJSON(t *testing.T) {
	type doc struct {
		Selector patchwave.Selector `json:"selector"`
		Opt      patchwave.Selector `json:"opt,omitzero"`
	}
	in := doc{Selector: patchwave.MustParseSelector("site=paris tier=lab")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"selector":"tier=lab,site=paris"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Selector.Equal(in.Selector) || !out.Opt.IsZero() {
		t.Errorf("Unmarshal = %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"selector":null}`), &out); err != nil || !out.Selector.IsZero() {
		t.Errorf("null: %v %q", err, out.Selector)
	}
	err = json.Unmarshal([]byte(`{"selector":"tier=gold"}`), &out)
	if err == nil || !strings.Contains(err.Error(), "gold") {
		t.Errorf("bad selector: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"selector":3}`), &out); err == nil {
		t.Error("a number decoded as a selector")
	}
	var s patchwave.Selector
	if err := s.Set("tag=a"); err != nil || s.String() != "tag=a" {
		t.Errorf("Set: %v %q", err, s)
	}
}

func TestSelectorHostnames(t *testing.T) {
	for _, tc := range []struct {
		sel  string
		want string
		ok   bool
	}{
		{"host=web1|web2", "web1 web2", true},
		{"host=web*", "", false},
		{"host!=web1", "", false},
		{"host=web1 site=paris", "", false},
		{"", "", false},
	} {
		names, ok := patchwave.MustParseSelector(tc.sel).Hostnames()
		if ok != tc.ok || strings.Join(names, " ") != tc.want {
			t.Errorf("Hostnames(%q) = %q, %v", tc.sel, names, ok)
		}
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"", "*", "tier=lab", "site=paris,tag=a|b", "os=debian:12 host=web-*", "tier!=lab exposure=high managed=false",
		"TAG=x=y", "host=İ*", "site=a\tsite=b", "* *", "tag=a,,tag=b"} {
		f.Add(s)
	}
	hosts := []patchwave.Host{
		{Hostname: "web-01", Site: "paris", Tier: patchwave.TierLab, Tags: []string{"a", "x=y"}, OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}, Managed: true},
		{Hostname: "i", HighExposure: true},
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := patchwave.ParseSelector(in)
		if err != nil {
			if patchwave.ErrorCode(err) != patchwave.EInvalid {
				t.Fatalf("ParseSelector(%q): error code %q", in, patchwave.ErrorCode(err))
			}
			return
		}
		str := s.String()
		again, err := patchwave.ParseSelector(str)
		if err != nil {
			t.Fatalf("ParseSelector(%q) = %q, which does not parse: %v", in, str, err)
		}
		if again.String() != str || !again.Equal(s) {
			t.Fatalf("ParseSelector(%q) = %q, reparsed as %q", in, str, again)
		}
		for _, h := range hosts {
			if s.Matches(h) != again.Matches(h) {
				t.Fatalf("%q and its canonical form %q disagree on %+v", in, str, h)
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back patchwave.Selector
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(s) {
			t.Fatalf("JSON round trip of %q: %s → %q, %v", in, b, back, err)
		}
	})
}
