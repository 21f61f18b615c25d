package version

import (
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		ecosystem string
		want      Scheme
	}{
		{"Debian", Dpkg},
		{"Debian:12", Dpkg},
		{"Debian:sid", Dpkg},
		{"Ubuntu:22.04:LTS", Dpkg},
		{"Ubuntu:Pro:18.04:LTS", Dpkg},
		{"Ubuntu:24.10", Dpkg},
		{"Alpine:v3.19", APK},
		{"Wolfi", APK},
		{"Chainguard", APK},
		{"AlmaLinux:9", RPM},
		{"Rocky Linux:9", RPM},
		{"Red Hat:rhel_aus:8.4::appstream", RPM},
		{"Red Hat:enterprise_linux:9::baseos", RPM},
		{"SUSE:Linux Enterprise Server 15 SP5", RPM},
		{"openSUSE:Leap 15.5", RPM},
		{"openEuler:22.03-LTS-SP3", RPM},
		{"npm", Semver},
		{"Go", Semver},
		{"crates.io", Semver},
		{"Hex", Semver},
	} {
		got, err := Lookup(c.ecosystem)
		if err != nil || got != c.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v", c.ecosystem, got, err, c.want)
		}
		cmp, err := For(c.ecosystem)
		if err != nil {
			t.Errorf("For(%q): %v", c.ecosystem, err)
			continue
		}
		// The function For returns orders like the scheme's.
		if cmp("1.0", "1.0~rc1") != c.want.Compare("1.0", "1.0~rc1") || cmp("2", "10") != -1 {
			t.Errorf("For(%q) does not compare like %v", c.ecosystem, c.want)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, c := range []struct {
		ecosystem, hint string
	}{
		{"", "empty ecosystem name"},
		{":12", "empty ecosystem name"},
		{"PyPI", "no known version ordering"},
		{"Maven:https://maven.google.com", "no known version ordering"},
		{"debian:12", `did you mean "Debian"`},
		{"ALPINE:v3.19", `did you mean "Alpine"`},
		{"Debian 12", "no known version ordering"},
	} {
		_, err := Lookup(c.ecosystem)
		if !errors.Is(err, ErrUnknownEcosystem) || !strings.Contains(err.Error(), c.hint) {
			t.Errorf("Lookup(%q) = %v; want ErrUnknownEcosystem mentioning %q", c.ecosystem, err, c.hint)
		}
		if cmp, err := For(c.ecosystem); cmp != nil || !errors.Is(err, ErrUnknownEcosystem) {
			t.Errorf("For(%q) = %p, %v; want nil, ErrUnknownEcosystem", c.ecosystem, cmp, err)
		}
		if err := Valid(c.ecosystem, "1.0"); !errors.Is(err, ErrUnknownEcosystem) {
			t.Errorf("Valid(%q, 1.0) = %v; want ErrUnknownEcosystem", c.ecosystem, err)
		}
	}
}

func TestSchemeString(t *testing.T) {
	for s, want := range map[Scheme]string{Dpkg: "dpkg", RPM: "rpm", APK: "apk", Semver: "semver", 0: "Scheme(0)"} {
		if got := s.String(); got != want {
			t.Errorf("Scheme(%d).String() = %q, want %q", int(s), got, want)
		}
	}
	if err := Scheme(0).Validate("1"); err == nil {
		t.Error("Scheme(0).Validate succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("Scheme(0).Compare did not panic")
		}
	}()
	Scheme(0).Compare("1", "2")
}

func TestValid(t *testing.T) {
	valid := map[string][]string{
		"Debian:12": {
			"1.0", "1:2.38.1-5+deb12u3", "2.7.4+reloaded2-13ubuntu1", "1.0~rc1-1~bpo12+1",
			"0", "1.2-3-4", "1:2:3", "2147483647:1", "1.0-1.2+b1",
			"a1.0", // dpkg only warns that it does not start with a digit
		},
		"AlmaLinux:9": {
			"1.0", "1:3.5.5-4.el9_8", "5.14.0-427.13.1.el9_4", "1.0~rc1-1", "1.0^git1-1.fc40",
			"1.20.1-1.module_el8.6.0+2777+e6b2a7bf", "0:1-1", "4294967295:1-1", "a", "1.0-1",
		},
		"Alpine:v3.19": {
			"1.0", "1.2.3-r0", "1.2.3a-r1", "1.2_rc1-r0", "3.1_p16", "0.1.0_alpha_pre2",
			"6.6.2p1-r0", "2.01.01_alpha10", "006", "1.0.0_pre20191002222144-r0", "1-r10",
		},
		"npm": {
			"1.0.0", "v1.2.3", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0+20130313144700",
			"1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3---117B344092BD", "0.0.0-20210101000000-abcdef123456",
		},
	}
	for eco, vs := range valid {
		for _, v := range vs {
			if err := Valid(eco, v); err != nil {
				t.Errorf("Valid(%q, %q) = %v", eco, v, err)
			}
		}
	}

	invalid := map[string][]struct{ v, reason string }{
		"Debian": {
			{"", "empty"},
			{" ", "blank"},
			{" 1.0", "leading or trailing blanks"},
			{"1.0 1", "embedded spaces"},
			{":1.0", "epoch in version is empty"},
			{"a:1.0", "epoch in version is not a number"},
			{"+1:1.0", "epoch in version is not a number"},
			{"1.0:1.0", "epoch in version is not a number"},
			{"2147483648:1", "epoch in version is too big"},
			{"1:", "nothing after colon"},
			{"1.0-", "revision number is empty"},
			{"-1", "upstream version is empty"},
			{"1:-1", "upstream version is empty"},
			{"1.0_1", `invalid character "_" in upstream version`},
			{"1.0é", "invalid character"},
			{"1.0\x00", "invalid character"},
			{"1:1.0-1:2", `invalid character ":" in revision`},
			{"1.0-1~bpo_1", `invalid character "_" in revision`},
		},
		"Rocky Linux:9": {
			{"", "empty"},
			{":1.0-1", "epoch is empty"},
			{"4294967296:1.0-1", "epoch is too big"},
			{"1:", "version is empty"},
			{"-1", "version is empty"},
			{"1.0-", "release is empty"},
			{"1-2-3", `invalid character "-" in version`},
			{"a:1", `invalid character ":" in version`},
			{"1.0 -1", `invalid character " " in version`},
			{"1.1.α", "invalid character"},
			{"1.0-1/2", `invalid character "/" in release`},
		},
		"Wolfi": {
			{"", "empty"},
			{"a", "does not start with a digit"},
			{".1", "does not start with a digit"},
			{"1..2", "missing number"},
			{"1.", "missing number"},
			{"1-r", "missing number"},
			{"1-r1-r2", "second revision"},
			{"1.2.0A", "unexpected"},
			{"1-foo", "unexpected"},
			{"1_foo", "unexpected"},
			{"1.0~abc", "unexpected"},
			{"1.0a.1", "unexpected"},
			{"1.0\x00", "unexpected"},
		},
		"Go": {
			{"", "empty"},
			{"v", "empty"},
			{"1.2", "MAJOR.MINOR.PATCH"},
			{"1.2.3.4", "MAJOR.MINOR.PATCH"},
			{"01.2.3", "leading zero"},
			{"1.x.3", "not a number"},
			{"1.2.3-", "empty identifier"},
			{"1.2.3-01", "leading zero"},
			{"1.2.3-a..b", "empty identifier"},
			{"1.2.3-a_b", "invalid character"},
			{"1.2.3+", "build metadata: empty identifier"},
			{"1.2.3+a+b", "invalid character"},
			{"vv1.2.3", "not a number"},
		},
	}
	for eco, cases := range invalid {
		for _, c := range cases {
			err := Valid(eco, c.v)
			var se *SyntaxError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &se) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("Valid(%q, %q) = %v; want a SyntaxError mentioning %q", eco, c.v, err, c.reason)
			}
		}
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	err := Valid("Debian:12", "1:")
	const want = `invalid dpkg version "1:": nothing after colon in version number`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	long := "1.0_" + strings.Repeat("x", 1000)
	if msg := Valid("Debian", long).Error(); len(msg) > 150 {
		t.Errorf("message for a long version is %d bytes long: %s", len(msg), msg)
	}
}
