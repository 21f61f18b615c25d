package pkgmgr

import (
	"fmt"
	"io"
	"strings"

	"github.com/patchwave/patchwave"
)

// apkRecord is the part of one apk database record that we keep.
type apkRecord struct {
	start int // line number of the first line, 0 before any
	pkg   patchwave.Package
	seen  [4]bool // P, V, A, o
}

// apkKeys are the single-letter keys ParseApkInstalled keeps, in the order
// of apkRecord.seen.
const apkKeys = "PVAo"

// ParseApkInstalled reads Alpine's installed-package database
// (/lib/apk/db/installed): records of "K:value" lines separated by blank
// lines. Of each record it keeps P (name), V (version), A (architecture)
// and o (origin, the source package, as Source). Every record is an
// installed package and must have a name and a version. Lines are at most
// 1 MiB; malformed input is an error that names its line.
func ParseApkInstalled(r io.Reader) ([]patchwave.Package, error) {
	sc := newInventoryScanner(r)
	var (
		out []patchwave.Package
		rec apkRecord
		n   int
	)
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if isBlank(line) {
			if err := rec.end(&out); err != nil {
				return nil, err
			}
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, fmt.Errorf("parse apk database line %d: %.40q is not a \"K:value\" line", n, line)
		}
		if rec.start == 0 {
			rec.start = n
		}
		k := strings.IndexByte(apkKeys, line[0])
		if k < 0 {
			continue
		}
		if rec.seen[k] {
			return nil, fmt.Errorf("parse apk database line %d: duplicate %c: line in one record", n, line[0])
		}
		rec.seen[k] = true
		v := strings.TrimSpace(string(line[2:]))
		switch line[0] {
		case 'P':
			rec.pkg.Name = v
		case 'V':
			rec.pkg.Version = v
		case 'A':
			rec.pkg.Arch = v
		case 'o':
			rec.pkg.Source = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse apk database line %d: %w", n+1, scanError(err))
	}
	if err := rec.end(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// end finishes a record: it appends its package to out and resets rec.
func (rec *apkRecord) end(out *[]patchwave.Package) error {
	defer func() { *rec = apkRecord{} }()
	switch {
	case rec.start == 0:
		return nil
	case rec.pkg.Name == "":
		return fmt.Errorf("parse apk database line %d: record without a package name (P:)", rec.start)
	case rec.pkg.Version == "":
		return fmt.Errorf("parse apk database line %d: package %.64q has no version (V:)", rec.start, rec.pkg.Name)
	case len(*out) >= patchwave.MaxPackages:
		return fmt.Errorf("parse apk database line %d: more than %d installed packages", rec.start, patchwave.MaxPackages)
	}
	*out = append(*out, rec.pkg)
	return nil
}
