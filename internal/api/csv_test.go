package api

import (
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func TestParseAssets(t *testing.T) {
	as, err := ParseAssets(strings.NewReader("\ufeffHostname, IP ,os,site,tier,owner,tags,fqdn,mac\n" +
		"web-01,10.0.0.1;10.0.0.2,debian 12,paris,lab,bob,\"b,a,a\",web-01.example.org,52:54:00:00:00:01\n" +
		"db-01,,,,,,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Hostname != "web-01" || as[0].Tier != patchwave.TierLab || strings.Join(as[0].Tags, ",") != "a,b" ||
		as[0].IP != "10.0.0.1,10.0.0.2" || as[0].FQDN != "web-01.example.org" || as[1].Tier != "" {
		t.Errorf("assets %+v", as)
	}
}

func TestParseAssetsIP(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"10.0.0.5", "10.0.0.5", ""},
		{"10.0.0.5/24", "10.0.0.5/24", ""},
		{"FE80::1", "fe80::1", ""},
		{"10.0.0.5; 2001:db8::5/64", "10.0.0.5,2001:db8::5/64", ""},
		{`"10.0.0.5, 10.0.0.6"`, "10.0.0.5,10.0.0.6", ""},
		{"10.0.0.999", "", `CSV row 3 (line 3): ip "10.0.0.999" is not an IP address`},
		{"server-1", "", `CSV row 3 (line 3): ip "server-1" is not an IP address`},
		{"10.0.0.5/33", "", `ip "10.0.0.5/33" is not`},
		{"10.0.0.5;;x", "", `ip "x" is not`},
	} {
		as, err := ParseAssets(strings.NewReader("hostname,ip\nok-1,10.0.0.1\nh," + c.in + "\n"))
		switch {
		case c.err != "":
			if patchwave.ErrorCode(err) != patchwave.EInvalid || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ip %s: %v, want %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("ip %s: %v", c.in, err)
		case as[1].IP != c.want:
			t.Errorf("ip %s read as %q, want %q", c.in, as[1].IP, c.want)
		}
	}
}

func FuzzParseAssets(f *testing.F) {
	f.Add("hostname,ip,os,site,tier,owner,tags\nweb-01,10.0.0.1,debian 12,paris,lab,bob,\"a,b\"\n")
	f.Add("hostname\n\"unterminated\n")
	f.Add("hostname,hostname\nx,y\n")
	f.Add("tier\nlab\n")
	f.Fuzz(func(t *testing.T, s string) {
		as, err := ParseAssets(strings.NewReader(s))
		if err != nil {
			if patchwave.ErrorCode(err) != patchwave.EInvalid {
				t.Fatalf("error without the invalid code: %v", err)
			}
			return
		}
		for _, a := range as {
			if patchwave.ValidHostname(a.Hostname) != nil {
				t.Fatalf("invalid hostname %q accepted", a.Hostname)
			}
		}
	})
}
