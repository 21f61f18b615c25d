package feed

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/patchwave/patchwave"
)

// MaxKEVBytes bounds the KEV catalogue read by ParseKEV (the real one is
// about 1.3 MB).
const MaxKEVBytes = 64 << 20

// KEVCatalog is CISA's Known Exploited Vulnerabilities catalogue
// (https://www.cisa.gov/known-exploited-vulnerabilities-catalog).
type KEVCatalog struct {
	Version  string          // catalogVersion, as "2025.08.25"
	Released time.Time       // dateReleased
	Entries  []patchwave.KEV // in the catalogue's order (newest first)
}

// kevJSON is the catalogue's JSON form (known_exploited_vulnerabilities.json).
type kevJSON struct {
	CatalogVersion  string `json:"catalogVersion"`
	DateReleased    string `json:"dateReleased"`
	Count           *int   `json:"count"`
	Vulnerabilities *[]struct {
		CVEID                      string `json:"cveID"`
		VendorProject              string `json:"vendorProject"`
		Product                    string `json:"product"`
		VulnerabilityName          string `json:"vulnerabilityName"`
		DateAdded                  string `json:"dateAdded"`
		DueDate                    string `json:"dueDate"`
		KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse"`
	} `json:"vulnerabilities"`
}

// ParseKEV reads the KEV catalogue in its JSON form. Each entry must have
// a well-formed CVE id (CVE-YYYY-NNNN…), appear once, and have dateAdded
// and dueDate as YYYY-MM-DD (midnight UTC); knownRansomwareCampaignUse
// "Known" sets Ransomware, "Unknown" or absent leaves it false, anything
// else is an error. The top-level count, when present, must match the
// entries, which catches a truncated file. Due dates before the date
// added are real (entries from before BOD 22-01 kept their older dates)
// and are kept.
func ParseKEV(r io.Reader) (KEVCatalog, error) {
	b, err := readAllCapped(r, MaxKEVBytes, "KEV catalogue")
	if err != nil {
		return KEVCatalog{}, err
	}
	var doc kevJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return KEVCatalog{}, invalid("KEV catalogue: %s", jsonError(b, err))
	}
	if doc.Vulnerabilities == nil {
		return KEVCatalog{}, invalid("KEV catalogue: no vulnerabilities array")
	}
	vs := *doc.Vulnerabilities
	if doc.Count != nil && *doc.Count != len(vs) {
		return KEVCatalog{}, invalid("KEV catalogue: count says %d entries, %d present", *doc.Count, len(vs))
	}
	c := KEVCatalog{Version: doc.CatalogVersion, Entries: make([]patchwave.KEV, 0, len(vs))}
	if doc.DateReleased != "" {
		if c.Released, err = time.Parse(time.RFC3339Nano, doc.DateReleased); err != nil {
			return KEVCatalog{}, invalid("KEV catalogue: dateReleased %q is not an RFC 3339 time", doc.DateReleased)
		}
	}
	seen := make(map[string]bool, len(vs))
	for i, v := range vs {
		if !IsCVE(v.CVEID) {
			return KEVCatalog{}, invalid("KEV entry %d: cveID %.40q is not a CVE id", i, v.CVEID)
		}
		if seen[v.CVEID] {
			return KEVCatalog{}, invalid("KEV entry %d: %s appears twice", i, v.CVEID)
		}
		seen[v.CVEID] = true
		k := patchwave.KEV{CVE: v.CVEID, Vendor: v.VendorProject, Product: v.Product, Name: v.VulnerabilityName}
		if k.DateAdded, err = parseDay(v.DateAdded); err != nil {
			return KEVCatalog{}, invalid("KEV %s: dateAdded: %v", v.CVEID, err)
		}
		if k.DueDate, err = parseDay(v.DueDate); err != nil {
			return KEVCatalog{}, invalid("KEV %s: dueDate: %v", v.CVEID, err)
		}
		switch v.KnownRansomwareCampaignUse {
		case "Known":
			k.Ransomware = true
		case "Unknown", "":
		default:
			return KEVCatalog{}, invalid("KEV %s: knownRansomwareCampaignUse %.20q is neither Known nor Unknown", v.CVEID, v.KnownRansomwareCampaignUse)
		}
		c.Entries = append(c.Entries, k)
	}
	return c, nil
}

// parseDay parses a YYYY-MM-DD date as midnight UTC.
func parseDay(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%.40q is not a YYYY-MM-DD date", s)
	}
	return t, nil
}

// IsCVE reports whether s is a well-formed CVE id: "CVE-", a four-digit
// year, "-", and 4 to 19 digits.
func IsCVE(s string) bool {
	if len(s) < 13 || len(s) > 28 || s[:4] != "CVE-" || s[8] != '-' {
		return false
	}
	for i := 4; i < len(s); i++ {
		if i != 8 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// readAllCapped reads r to the end, failing with a clear error past max bytes.
func readAllCapped(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > max {
		return nil, invalid("%s is over %d bytes: refused", what, max)
	}
	return b, nil
}
