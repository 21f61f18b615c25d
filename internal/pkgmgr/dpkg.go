package pkgmgr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/patchwave/patchwave"
)

// maxInventoryLine bounds one line of a package database file, and so the
// memory a parser needs beyond the packages it returns. Real files stay
// far below it (Debian's longest dpkg status lines are ~10 KB).
const maxInventoryLine = 1 << 20

// newInventoryScanner returns a line scanner for a package database file.
func newInventoryScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxInventoryLine)
	return sc
}

// scanError explains a scanner's error.
func scanError(err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("line longer than %d bytes: %w", maxInventoryLine, err)
	}
	return err
}

func isBlank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }

// The dpkg status fields ParseDpkgStatus keeps.
const (
	dpkgOther = iota - 1 // a field we skip
	dpkgNone             // no field yet in this stanza
	dpkgPackage
	dpkgStatus
	dpkgVersion
	dpkgArch
	dpkgSource
	dpkgFields
)

var dpkgFieldNames = [dpkgFields]string{dpkgPackage: "Package", dpkgStatus: "Status",
	dpkgVersion: "Version", dpkgArch: "Architecture", dpkgSource: "Source"}

// dpkgStanza is the part of one status-file stanza that we keep.
type dpkgStanza struct {
	start int // line number of the first field, 0 before any
	field int // the field the last line belonged to
	seen  [dpkgFields]bool
	vals  [dpkgFields]string
}

// ParseDpkgStatus reads a dpkg status file (/var/lib/dpkg/status) and
// returns the installed packages, in file order: those whose Status is
// "install ok installed" or "hold ok installed". Version keeps its epoch
// (1:2.38.1-5+deb12u3). Source and SourceVersion come only from the
// Source field, "name" or "name (version)": a package without one has an
// empty Source, and one whose source version equals its own version has an
// empty SourceVersion. The file is read line by line, each line at most
// 1 MiB; malformed input is an error that names its line.
func ParseDpkgStatus(r io.Reader) ([]patchwave.Package, error) {
	sc := newInventoryScanner(r)
	var (
		out []patchwave.Package
		st  = dpkgStanza{}
		n   int
	)
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if isBlank(line) {
			if err := st.end(&out); err != nil {
				return nil, err
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			switch st.field {
			case dpkgNone:
				return nil, fmt.Errorf("parse dpkg status line %d: continuation line before any field", n)
			case dpkgOther:
			default:
				return nil, fmt.Errorf("parse dpkg status line %d: field %s continues on a second line", n, dpkgFieldNames[st.field])
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("parse dpkg status line %d: no colon in field line %.40q", n, line)
		}
		if len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("parse dpkg status line %d: invalid field name %.40q", n, name)
		}
		if st.start == 0 {
			st.start = n
		}
		st.field = dpkgOther
		for f := dpkgPackage; f < dpkgFields; f++ {
			if bytes.EqualFold(name, []byte(dpkgFieldNames[f])) {
				if st.seen[f] {
					return nil, fmt.Errorf("parse dpkg status line %d: duplicate field %s", n, dpkgFieldNames[f])
				}
				st.field, st.seen[f], st.vals[f] = f, true, string(bytes.TrimSpace(value))
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse dpkg status line %d: %w", n+1, scanError(err))
	}
	if err := st.end(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// end finishes a stanza: it appends the package to out if it is installed,
// and resets st for the next stanza.
func (st *dpkgStanza) end(out *[]patchwave.Package) error {
	defer func() { *st = dpkgStanza{} }()
	if st.start == 0 || !dpkgInstalled(st.vals[dpkgStatus]) {
		return nil
	}
	p := patchwave.Package{Name: st.vals[dpkgPackage], Version: st.vals[dpkgVersion], Arch: st.vals[dpkgArch]}
	if p.Name == "" {
		return fmt.Errorf("parse dpkg status line %d: installed package without a Package field", st.start)
	}
	if p.Version == "" {
		return fmt.Errorf("parse dpkg status line %d: installed package %.64q has no Version", st.start, p.Name)
	}
	if s := st.vals[dpkgSource]; s != "" {
		var err error
		if p.Source, p.SourceVersion, err = parseDpkgSource(s); err != nil {
			return fmt.Errorf("parse dpkg status line %d: package %.64q: %w", st.start, p.Name, err)
		}
	}
	if len(*out) >= patchwave.MaxPackages {
		return fmt.Errorf("parse dpkg status line %d: more than %d installed packages", st.start, patchwave.MaxPackages)
	}
	*out = append(*out, p)
	return nil
}

// dpkgInstalled reports whether a Status value ("want flag status") says
// the package is installed and meant to stay so.
func dpkgInstalled(status string) bool {
	f := strings.Fields(status)
	return len(f) == 3 && (f[0] == "install" || f[0] == "hold") && f[1] == "ok" && f[2] == "installed"
}

// parseDpkgSource splits a Source field, "name" or "name (version)".
func parseDpkgSource(s string) (name, version string, err error) {
	name, rest, ok := strings.Cut(s, " ")
	if !ok {
		return s, "", nil
	}
	rest = strings.TrimSpace(rest)
	v, ok := strings.CutPrefix(rest, "(")
	if v, ok2 := strings.CutSuffix(v, ")"); ok && ok2 {
		if v = strings.TrimSpace(v); v != "" && !strings.ContainsAny(v, " \t()") {
			return name, v, nil
		}
	}
	return "", "", fmt.Errorf("malformed Source %.80q, want \"name\" or \"name (version)\"", s)
}
