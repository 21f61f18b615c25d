package osinfo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// writeTree creates files (path → contents) under dir; a path ending in
// "/" is created as an empty directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCollectImageRoot(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/os-release":                         readTestdata(t, "os-release/debian12"),
		"etc/hostname":                           "# set by the installer\n\nweb01\n",
		"etc/hosts":                              "127.0.0.1 localhost\n10.0.0.5 web01.example.org web01 # primary\n",
		"lib/modules/5.10.0-28-amd64/":           "",
		"lib/modules/6.1.0-9-amd64/":             "",
		"usr/lib/modules/6.1.0-18-amd64/":        "",
		"usr/lib/modules/not-a-dir":              "x",
		"proc/uptime":                            "100.5 20.1\n", // ignored: not a live root
		"run/systemd/system/":                    "",
		"usr/lib/modules/6.1.0-18-amd64/modules": "x",
	})
	got, err := Collect(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	want := patchwave.Facts{
		Hostname: "web01",
		FQDN:     "web01.example.org",
		OS:       patchwave.OS{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"},
		Kernel:   "6.1.0-18-amd64",
	}
	if got.Hash() != want.Hash() || got.UptimeSeconds != 0 {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestCollectFallbacks(t *testing.T) {
	t.Run("usr/lib/os-release", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"usr/lib/os-release": readTestdata(t, "os-release/alpine319")})
		got, err := Collect(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		if got.OS.ID != "alpine" || got.Hostname != "" || got.Kernel != "" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("etc wins over usr/lib", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{
			"etc/os-release":     "ID=rocky\n",
			"usr/lib/os-release": "ID=alpine\n",
		})
		got, err := Collect(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		if got.OS.ID != "rocky" {
			t.Errorf("OS.ID = %q, want rocky", got.OS.ID)
		}
	})
	t.Run("no os-release", func(t *testing.T) {
		got, err := Collect(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got.OS != (patchwave.OS{}) {
			t.Errorf("OS = %+v, want empty", got.OS)
		}
	})
	t.Run("malformed os-release", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"etc/os-release": "ID=debian\nNAME=\"Debian\n"})
		_, err := Collect(context.Background(), root)
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("error = %v, want one naming line 2", err)
		}
	})
	t.Run("os-release is a directory", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"etc/os-release/": ""})
		if _, err := Collect(context.Background(), root); err == nil {
			t.Fatal("no error")
		}
	})
}

// fakeLive is a live environment on a temporary root with canned answers.
func fakeLive(t *testing.T, files map[string]string) (env, *[]string) {
	root := t.TempDir()
	writeTree(t, root, files)
	var ran []string
	e := env{
		root:     root,
		live:     true,
		goarch:   "arm64",
		hostname: func() (string, error) { return "db02", nil },
		lookupCNAME: func(ctx context.Context, host string) (string, error) {
			return host + ".corp.example.", nil
		},
		interfaces: func() ([]patchwave.Interface, error) {
			return []patchwave.Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.1.2.3/24"}}}, nil
		},
		run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			ran = append(ran, name+" "+strings.Join(args, " "))
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("%s run without a deadline", name)
			}
			return []byte(readTestdata(t, "systemctl-running.txt")), nil
		},
	}
	return e, &ran
}

func TestCollectLive(t *testing.T) {
	e, ran := fakeLive(t, map[string]string{
		"etc/os-release":            readTestdata(t, "os-release/almalinux94"),
		"etc/hostname":              "ignored-on-a-live-root\n",
		"proc/sys/kernel/osrelease": "5.14.0-427.13.1.el9_4.aarch64\n",
		"proc/uptime":               "350735.47 234388.90\n",
		"run/systemd/system/":       "",
	})
	got, err := e.collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := patchwave.Facts{
		Hostname:      "db02",
		FQDN:          "db02.corp.example",
		OS:            patchwave.OS{Family: "rhel", ID: "almalinux", Name: "AlmaLinux 9.4 (Seafoam Ocelot)", Version: "9.4"},
		Kernel:        "5.14.0-427.13.1.el9_4.aarch64",
		Arch:          "aarch64",
		UptimeSeconds: 350735,
		Interfaces:    []patchwave.Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.1.2.3/24"}}},
		Services: []string{"cron", "dbus", "getty@tty1", "ssh", "systemd-journald", "systemd-logind",
			"systemd-udevd", "user@1000"},
	}
	if got.Hash() != want.Hash() || got.UptimeSeconds != want.UptimeSeconds {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	wantRan := []string{"systemctl list-units --type=service --state=running --no-legend --plain"}
	if !slices.Equal(*ran, wantRan) {
		t.Errorf("ran %q, want %q", *ran, wantRan)
	}
}

func TestCollectLiveWithoutSystemd(t *testing.T) {
	e, ran := fakeLive(t, map[string]string{"etc/os-release": "ID=alpine\n"})
	e.lookupCNAME = func(ctx context.Context, host string) (string, error) { return "", errors.New("no such host") }
	got, err := e.collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(*ran) != 0 || got.Services != nil {
		t.Errorf("ran %q, services %q; want nothing without /run/systemd/system", *ran, got.Services)
	}
	if got.FQDN != "" || got.Kernel != "" || got.UptimeSeconds != 0 || got.Arch != "aarch64" {
		t.Errorf("got %+v", got)
	}
}

func TestCollectLiveBestEffort(t *testing.T) {
	e, _ := fakeLive(t, map[string]string{
		"etc/os-release":      "ID=debian\n",
		"proc/uptime":         "garbage\n",
		"run/systemd/system/": "",
	})
	e.run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, errors.New("systemctl: exit status 1")
	}
	e.interfaces = func() ([]patchwave.Interface, error) { return nil, errors.New("netlink: denied") }
	got, err := e.collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Services != nil || got.Interfaces != nil || got.UptimeSeconds != 0 || got.Hostname != "db02" {
		t.Errorf("got %+v", got)
	}
}

func TestCollectLiveHostnameError(t *testing.T) {
	e, _ := fakeLive(t, map[string]string{"etc/os-release": "ID=debian\n"})
	e.hostname = func() (string, error) { return "", errors.New("uname failed") }
	if _, err := e.collect(context.Background()); err == nil || !strings.Contains(err.Error(), "hostname") {
		t.Fatalf("error = %v, want a hostname error", err)
	}
}

func TestCollectLiveSlowLookup(t *testing.T) {
	e, _ := fakeLive(t, map[string]string{"etc/os-release": "ID=debian\n"})
	e.lookupCNAME = func(ctx context.Context, host string) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}
	start := time.Now()
	got, err := e.collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*lookupTimeout {
		t.Errorf("collect took %v with a hanging resolver", d)
	}
	if got.FQDN != "" {
		t.Errorf("FQDN = %q, want empty", got.FQDN)
	}
}

func TestCollectLiveCancelled(t *testing.T) {
	e, ran := fakeLive(t, map[string]string{"etc/os-release": "ID=debian\n", "run/systemd/system/": ""})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.collect(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if len(*ran) != 0 {
		t.Errorf("ran %q after cancellation", *ran)
	}
}

// TestCollectThisMachine runs Collect on the machine running the test.
func TestCollectThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("live facts are read the Linux way")
	}
	f, err := Collect(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", f)
	if f.Hostname == "" || f.Arch != Machine(runtime.GOARCH) {
		t.Errorf("hostname %q, arch %q", f.Hostname, f.Arch)
	}
	if _, err := os.Stat("/proc/sys/kernel/osrelease"); err == nil && f.Kernel == "" {
		t.Error("no kernel release although /proc is mounted")
	}
	for _, i := range f.Interfaces {
		if i.Name == "lo" {
			t.Error("loopback interface reported")
		}
	}
	if !slices.IsSorted(f.Services) {
		t.Errorf("services not sorted: %q", f.Services)
	}
	f.AgentVersion = "test"
	if err := f.Validate(); err != nil {
		t.Errorf("facts of this machine do not validate: %v", err)
	}
}

func TestParseSystemctlUnits(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"sample", readTestdata(t, "systemctl-running.txt"), []string{"cron", "dbus", "getty@tty1", "ssh",
			"systemd-journald", "systemd-logind", "systemd-udevd", "user@1000"}},
		{"unsorted and duplicate", "ssh.service loaded active running SSH\ncron.service loaded active running Cron\nssh.service loaded active running SSH\n",
			[]string{"cron", "ssh"}},
		{"legend and hints", "UNIT LOAD ACTIVE SUB DESCRIPTION\nssh.service loaded active running SSH\n\nLOAD   = Reflects whether the unit definition was properly loaded.\n2 loaded units listed.\n",
			[]string{"ssh"}},
		{"marker", "● ssh.service loaded active running SSH\n* cron.service loaded active running Cron\n", []string{"cron", "ssh"}},
		{"not running", "ssh.service loaded active exited SSH\nnginx.service loaded active running nginx\n", []string{"nginx"}},
		{"other unit types", "dev-sda.device loaded active plugged disk\n.service\nx.socket loaded active running s\n", nil},
		{"name only", "chronyd.service\n", []string{"chronyd"}},
		{"CRLF", "ssh.service loaded active running SSH\r\n", []string{"ssh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseSystemctlUnits([]byte(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseUptime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"350735.47 234388.90\n", 350735, true},
		{"12 3", 12, true},
		{"0.99 0.10", 0, true},
		{"", 0, false},
		{"abc 1", 0, false},
		{"-5.0 1", 0, false},
		{"99999999999999999999.1 1", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseUptime([]byte(tt.in))
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseUptime(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFQDNFromHosts(t *testing.T) {
	hosts := `# static table
127.0.0.1	localhost
127.0.1.1	web01.example.org web01
::1     localhost ip6-localhost ip6-loopback
10.0.0.9 db02 db02.lan.example.com
10.0.0.10 cache03.example.org # cache03 only in a comment
10.0.0.11 app04.
`
	tests := []struct{ host, want string }{
		{"web01", "web01.example.org"},
		{"db02", "db02.lan.example.com"},
		{"cache03", ""},
		{"app04", ""},
		{"web", ""},
		{"localhost", ""},
		{"", ""},
		{"already.qualified.org", "already.qualified.org"},
	}
	for _, tt := range tests {
		if got := FQDNFromHosts([]byte(hosts), tt.host); got != tt.want {
			t.Errorf("FQDNFromHosts(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

func TestParseHostname(t *testing.T) {
	for in, want := range map[string]string{
		"web01\n":                   "web01",
		"  web01  \r\n":             "web01",
		"# comment\n\nweb01\nx\n":   "web01",
		"":                          "",
		"# only a comment\n":        "",
		"web01.example.org":         "web01.example.org",
		"\n\n\tsplit name here\n\n": "split name here",
	} {
		if got := ParseHostname([]byte(in)); got != want {
			t.Errorf("ParseHostname(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMachine(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686",
		"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "wasm": "wasm"} {
		if got := Machine(goarch); got != want {
			t.Errorf("Machine(%q) = %q, want %q", goarch, got, want)
		}
	}
}

func TestCompareNatural(t *testing.T) {
	ordered := []string{"", "4.19.0-26-amd64", "5.10.0-9-amd64", "5.10.0-28-amd64", "6.1.0-9-amd64",
		"6.1.0-18-amd64", "6.1.0-18-amd64+rt", "6.10.0", "6.10.00-1", "a"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareNatural(ordered[i], ordered[j]); got != want {
				t.Errorf("compareNatural(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}
