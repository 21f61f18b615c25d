package patchwave

import (
	"encoding/json"
	"time"
)

// Advisory is a security (or bug-fix) advisory in the OSV format, as the
// distributions publish them (https://ossf.github.io/osv-schema/). Vendor
// bulletins in other formats are mapped onto it. The JSON tags follow OSV
// so that records decode directly.
type Advisory struct {
	SchemaVersion string             `json:"schema_version,omitempty"`
	ID            string             `json:"id"`
	Modified      time.Time          `json:"modified"`
	Published     *time.Time         `json:"published,omitempty"`
	Withdrawn     *time.Time         `json:"withdrawn,omitempty"`
	Aliases       []string           `json:"aliases,omitempty"`
	Upstream      []string           `json:"upstream,omitempty"`
	Related       []string           `json:"related,omitempty"`
	Summary       string             `json:"summary,omitempty"`
	Details       string             `json:"details,omitempty"`
	Severity      []AdvisorySeverity `json:"severity,omitempty"`
	Affected      []Affected         `json:"affected,omitempty"`
	References    []Reference        `json:"references,omitempty"`
	// DatabaseSpecific is kept as it came: vendors put severity,
	// classification and CVE lists here.
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// AdvisorySeverity is one OSV severity entry: a CVSS vector or a vendor rating.
type AdvisorySeverity struct {
	Type  string `json:"type"`  // CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu, …
	Score string `json:"score"` // the vector, or the vendor's word
}

// Affected is one package an advisory affects, in one ecosystem.
type Affected struct {
	Package           AffectedPackage    `json:"package"`
	Ranges            []Range            `json:"ranges,omitempty"`
	Versions          []string           `json:"versions,omitempty"`
	Severity          []AdvisorySeverity `json:"severity,omitempty"`
	EcosystemSpecific json.RawMessage    `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage    `json:"database_specific,omitempty"`
}

// AffectedPackage names a package in an ecosystem ("Debian:12", "AlmaLinux:9").
type AffectedPackage struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl,omitempty"`
}

// Range is a version range: events in order of the ecosystem's versions.
type Range struct {
	Type   string  `json:"type"` // ECOSYSTEM, SEMVER, GIT
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link about an advisory.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Severity is a finding's severity, from CVSS scores or the vendor's rating.
type Severity string

// The severities, highest first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityNone     Severity = "none"
	SeverityUnknown  Severity = "unknown"
)

// Rank orders severities: critical 5 … none 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityNone:
		return 1
	}
	return 0
}

// KEV is a CISA Known Exploited Vulnerabilities catalogue entry.
type KEV struct {
	CVE        string    `json:"cve"`
	DateAdded  time.Time `json:"date_added"`
	DueDate    time.Time `json:"due_date"`
	Ransomware bool      `json:"ransomware"` // knownRansomwareCampaignUse == "Known"
	Vendor     string    `json:"vendor,omitempty"`
	Product    string    `json:"product,omitempty"`
	Name       string    `json:"name,omitempty"`
}

// EPSS is a FIRST exploit prediction score of one CVE on one day.
type EPSS struct {
	CVE         string    `json:"cve"`
	Probability float64   `json:"probability"`
	Percentile  float64   `json:"percentile,omitempty"` // absent in old files
	Date        time.Time `json:"date"`
}

// FindingState says where a finding stands.
type FindingState string

// The states of a finding.
const (
	FindingMissing FindingState = "missing" // a fixed version exists and is not installed
	FindingNoFix   FindingState = "no-fix"  // affected, and no fix is published
	FindingFixed   FindingState = "fixed"   // was missing, now installed
	// FindingUnexpectedService is a running service outside the host's
	// service baseline: the remedy is to remove or disable it.
	FindingUnexpectedService FindingState = "unexpected-service"
)

// Finding is one installed package affected by one or more advisories.
type Finding struct {
	ID         int64        `json:"id,omitempty"`
	HostID     int64        `json:"host_id,omitempty"`
	Host       string       `json:"host"`
	Ecosystem  string       `json:"ecosystem"`
	Package    string       `json:"package"` // binary package name
	Arch       string       `json:"arch,omitempty"`
	Source     string       `json:"source,omitempty"`
	Installed  string       `json:"installed"`
	Fixed      string       `json:"fixed"` // highest fixed version; empty when no fix exists
	State      FindingState `json:"state"`
	Advisories []string     `json:"advisories"`
	CVEs       []string     `json:"cves"`
	Severity   Severity     `json:"severity"`
	CVSS       float64      `json:"cvss,omitempty"` // highest base score
	KEV        *KEV         `json:"kev,omitempty"`
	EPSS       float64      `json:"epss,omitempty"`
	ThirdParty bool         `json:"third_party,omitempty"` // from a repository the advisories do not cover
	FirstSeen  *time.Time   `json:"first_seen,omitempty"`
	FixedAt    *time.Time   `json:"fixed_at,omitempty"`
	// Published is the earliest publication date of the finding's
	// advisories, when known; baselines' approve-after rules count from it.
	Published *time.Time `json:"published,omitempty"`
	// Classification is what the fixing update is: security, bugfix or
	// enhancement. Empty is read as security (see PatchFromFinding).
	Classification string `json:"classification,omitempty"`
	// Policy is the finding's outcome under the patch policy: due date,
	// SLA status, risk with its parts, approval and exceptions.
	Policy *FindingPolicy `json:"policy,omitempty"`
}

// FindingFilter selects findings in a list. Zero fields match everything.
type FindingFilter struct {
	Host     string // id or hostname
	Site     string
	Tier     Tier
	Severity Severity // this severity or higher
	KEV      *bool
	CVE      string
	Advisory string
	Package  string // binary or source name
	HasFix   *bool
	State    FindingState // "" means the open ones: missing, no-fix, unexpected-service
	SLA      string       // on-track, at-risk or breached
	Excepted *bool
	// Sort "risk" orders by risk, highest first, paged by Offset; the
	// default orders by id, paged by After.
	Sort   string
	Offset int
	After  int64
	Limit  int
}

// Feed kinds: what a feed's source contains.
const (
	FeedOSV  = "osv"  // OSV records: one JSON file, a directory or a zip
	FeedKEV  = "kev"  // CISA Known Exploited Vulnerabilities catalogue (JSON)
	FeedEPSS = "epss" // FIRST EPSS daily scores (CSV, optionally gzipped)
	FeedMSRC = "msrc" // Microsoft security update release (CVRF JSON or XML)
	FeedEOL  = "eol"  // end-of-life dates in endoflife.date's API format
)

// FeedKinds lists every feed kind.
var FeedKinds = []string{FeedOSV, FeedKEV, FeedEPSS, FeedMSRC, FeedEOL}

// Feed is a source of advisories or enrichment data and the state of its
// last synchronisation.
type Feed struct {
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	URL          string     `json:"url,omitempty"` // http(s) URL or a path on the server; empty for import-only feeds
	Interval     int64      `json:"interval_seconds,omitempty"`
	LastAttempt  *time.Time `json:"last_attempt_at,omitempty"`
	LastSuccess  *time.Time `json:"last_success_at,omitempty"`
	Records      int64      `json:"records"` // what the feed holds: OSV records, KEV entries, EPSS scores or MSRC documents
	Error        string     `json:"error,omitempty"`
	ETag         string     `json:"-"`
	LastModified string     `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
	// Skipped and Warnings tell what the last successful import left
	// out as invalid (records, or affected entries of them) and the first
	// reasons, each naming the record and the field.
	Skipped  int64    `json:"skipped,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// EOL is the end of support of one operating system release.
type EOL struct {
	Product     string     `json:"product"` // os-release ID: debian, ubuntu, almalinux, windows-server
	Cycle       string     `json:"cycle"`   // 12, 22.04, 9, 3.19
	EOL         time.Time  `json:"eol"`
	ExtendedEOL *time.Time `json:"extended_eol,omitempty"`
	Source      string     `json:"source,omitempty"`
}
