package osinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

// sharedData returns the directory of the data shared between the
// project's repositories, or skips the test when it is absent.
func sharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data not found at %s (set PATCHWAVE_SHARED_DATA): %v", dir, err)
	}
	return dir
}

func TestParseOSReleaseSamples(t *testing.T) {
	tests := []struct {
		file string
		want patchwave.OS
	}{
		{"debian12", patchwave.OS{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"}},
		{"ubuntu2404", patchwave.OS{Family: "debian", ID: "ubuntu", Name: "Ubuntu 24.04.1 LTS", Version: "24.04", Codename: "noble"}},
		{"almalinux94", patchwave.OS{Family: "rhel", ID: "almalinux", Name: "AlmaLinux 9.4 (Seafoam Ocelot)", Version: "9.4"}},
		{"rocky93", patchwave.OS{Family: "rhel", ID: "rocky", Name: "Rocky Linux 9.3 (Blue Onyx)", Version: "9.3"}},
		{"opensuse-leap155", patchwave.OS{Family: "suse", ID: "opensuse-leap", Name: "openSUSE Leap 15.5", Version: "15.5"}},
		{"alpine319", patchwave.OS{Family: "alpine", ID: "alpine", Name: "Alpine Linux v3.19", Version: "3.19.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "os-release", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseOSRelease(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseOSReleaseSharedDebian12(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedData(t), "endpoint_inventory", "debian12-os-release"))
	if err != nil {
		t.Skipf("real Debian 12 os-release not available: %v", err)
	}
	got, err := ParseOSRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	want := patchwave.OS{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseOSReleaseSyntax(t *testing.T) {
	tests := []struct {
		name, in string
		want     patchwave.OS
		err      string // substring of the error, "" for none
	}{
		{name: "empty", in: ""},
		{name: "comments and blanks", in: "# a comment\n\n   \n\tID=debian\n  # indented comment\n",
			want: patchwave.OS{ID: "debian", Family: "debian"}},
		{name: "CRLF", in: "ID=\"rocky\"\r\nVERSION_ID=9.3\r\n",
			want: patchwave.OS{ID: "rocky", Family: "rhel", Version: "9.3"}},
		{name: "no final newline", in: "ID=alpine", want: patchwave.OS{ID: "alpine", Family: "alpine"}},
		{name: "single quotes are literal", in: `PRETTY_NAME='It\'s "quoted"'` + "'",
			want: patchwave.OS{Name: `It\s quoted`}},
		{name: "double-quote escapes", in: `PRETTY_NAME="a \"b\" \\ \$x \` + "`" + ` \n"`,
			want: patchwave.OS{Name: "a \"b\" \\ $x ` \\n"}},
		{name: "unquoted escapes", in: `NAME=My\ Linux\\`, want: patchwave.OS{Name: `My Linux\`}},
		{name: "concatenation", in: `NAME="Deb"'ian'" GNU"`, want: patchwave.OS{Name: "Debian GNU"}},
		{name: "empty value", in: "VERSION_ID=\nNAME=\"\"", want: patchwave.OS{}},
		{name: "PRETTY_NAME wins over NAME", in: "NAME=A\nPRETTY_NAME=B\n", want: patchwave.OS{Name: "B"}},
		{name: "NAME when no PRETTY_NAME", in: "NAME=A\n", want: patchwave.OS{Name: "A"}},
		{name: "UBUNTU_CODENAME fallback", in: "ID=ubuntu\nUBUNTU_CODENAME=jammy\n",
			want: patchwave.OS{ID: "ubuntu", Family: "debian", Codename: "jammy"}},
		{name: "later assignment wins", in: "ID=a\nID=b\n", want: patchwave.OS{ID: "b", Family: "b"}},
		{name: "ID_LIKE", in: "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", want: patchwave.OS{ID: "linuxmint", Family: "debian"}},
		{name: "ID_LIKE first known", in: "ID=amzn\nID_LIKE=\"centos rhel fedora\"\n", want: patchwave.OS{ID: "amzn", Family: "rhel"}},
		{name: "arch", in: "ID=manjaro\nID_LIKE=arch\n", want: patchwave.OS{ID: "manjaro", Family: "arch"}},
		{name: "sles", in: "ID=\"sles\"\nID_LIKE=\"suse\"\n", want: patchwave.OS{ID: "sles", Family: "suse"}},
		{name: "unknown family is the ID", in: "ID=fedora\n", want: patchwave.OS{ID: "fedora", Family: "fedora"}},
		{name: "no equals", in: "ID=debian\nthis is not valid\n", err: "line 2: no '='"},
		{name: "bad name", in: "\n\n1ID=x\n", err: "line 3: invalid variable name"},
		{name: "empty name", in: "=x\n", err: "line 1: invalid variable name"},
		{name: "name with dash", in: "MY-ID=x\n", err: "line 1: invalid variable name"},
		{name: "unterminated double", in: "ID=debian\nNAME=\"Debian\n", err: "line 2: NAME: unterminated double quote"},
		{name: "unterminated single", in: "NAME='Debian\n", err: "line 1: NAME: unterminated single quote"},
		{name: "escaped closing quote", in: `NAME="abc\"`, err: "unterminated double quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOSRelease([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseOSRelease(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "os-release", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`NAME="a\"b" 'c'\ d` + "\nID=x\n"))
	f.Add([]byte("NAME=\"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOSRelease(b)
		if err != nil {
			if o != (patchwave.OS{}) {
				t.Errorf("error %v with a non-zero result %+v", err, o)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not name a line", err)
			}
			return
		}
		if o2, err := ParseOSRelease(b); err != nil || o2 != o {
			t.Errorf("second parse gave %+v, %v; first %+v", o2, err, o)
		}
	})
}
