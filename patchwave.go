// Package patchwave holds the vocabulary of Patchwave: hosts, packages,
// users, enrollment tokens and the agent protocol, and the pure rules that go
// with them. It imports only the standard library; storage, HTTP, the agent
// and the command line are adapters around it.
package patchwave

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Tier is a host's criticality: how much its downtime hurts the business.
type Tier string

// The criticality tiers, from most to least critical.
const (
	TierMissionCritical     Tier = "mission-critical"
	TierBusinessCritical    Tier = "business-critical"
	TierBusinessOperational Tier = "business-operational"
	TierLab                 Tier = "lab"
)

// Tiers lists every tier, most critical first.
var Tiers = []Tier{TierMissionCritical, TierBusinessCritical, TierBusinessOperational, TierLab}

// ParseTier checks s names a tier. The empty string is not a tier.
func ParseTier(s string) (Tier, error) {
	for _, t := range Tiers {
		if string(t) == s {
			return t, nil
		}
	}
	return "", Errorf(EInvalid, "unknown tier %q (want one of %s)", s, joinTiers())
}

func joinTiers() string {
	s := make([]string, len(Tiers))
	for i, t := range Tiers {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Role is what a user may do.
type Role string

// The roles a user can hold.
const (
	RoleAdmin     Role = "admin"      // everything, including users
	RoleOperator  Role = "operator"   // manage hosts, tokens and deployments
	RoleApprover  Role = "approver"   // read everything, approve patches
	RoleSiteAdmin Role = "site-admin" // manage the hosts of their own sites
	RoleViewer    Role = "viewer"     // read only
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleOperator, RoleApprover, RoleSiteAdmin, RoleViewer}

// ParseRole checks s names a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Errorf(EInvalid, "unknown role %q (want admin, operator, approver, site-admin or viewer)", s)
}

// User is a person (or script) who signs in to Patchwave.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Sites     []string  `json:"sites,omitempty"` // the sites a site-admin manages
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled,omitempty"`
}

// CanWrite reports whether u may change hosts and tokens at site ("" for
// objects that belong to no site, which site admins may not change).
func (u User) CanWrite(site string) bool {
	switch u.Role {
	case RoleAdmin, RoleOperator:
		return true
	case RoleSiteAdmin:
		return site != "" && slices.Contains(u.Sites, site)
	}
	return false
}

// Interface is one network interface of a host.
type Interface struct {
	Name string   `json:"name"`
	MAC  string   `json:"mac,omitempty"`
	IPs  []string `json:"ips,omitempty"` // CIDR notation, e.g. 10.0.0.5/24
}

// OS describes the operating system of a host, mostly from os-release.
type OS struct {
	Family   string `json:"family,omitempty"`   // debian, rhel, suse, alpine, windows
	ID       string `json:"id,omitempty"`       // os-release ID: debian, ubuntu, almalinux
	Name     string `json:"name,omitempty"`     // os-release PRETTY_NAME or NAME
	Version  string `json:"version,omitempty"`  // os-release VERSION_ID: 12, 24.04, 9.4
	Codename string `json:"codename,omitempty"` // bookworm, noble
}

// Facts is what an agent reports about its host, apart from packages.
type Facts struct {
	Hostname      string      `json:"hostname"`
	FQDN          string      `json:"fqdn,omitempty"`
	OS            OS          `json:"os"`
	Kernel        string      `json:"kernel,omitempty"`
	Arch          string      `json:"arch,omitempty"`
	UptimeSeconds int64       `json:"uptime_seconds,omitempty"`
	Interfaces    []Interface `json:"interfaces,omitempty"`
	Services      []string    `json:"services,omitempty"` // running services, sorted
	AgentVersion  string      `json:"agent_version,omitempty"`
	// Pro says the host receives extended vendor fixes (Ubuntu Pro/ESM).
	Pro bool `json:"pro,omitempty"`
}

// Hash is a stable digest of f, used by agents to say "nothing changed".
// Uptime is left out: it changes on every check-in.
func (f Facts) Hash() string {
	g := f // UptimeSeconds is left out
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%q|%q|%q|%q|%q|%q|%q|%q|%t|", g.Hostname, g.FQDN, g.OS.Family, g.OS.ID,
		g.OS.Name, g.OS.Version, g.OS.Codename, g.Kernel, g.Arch, g.AgentVersion, g.Pro)
	for _, i := range g.Interfaces {
		fmt.Fprintf(h, "i%q|%q|%q|", i.Name, i.MAC, i.IPs)
	}
	for _, s := range g.Services {
		fmt.Fprintf(h, "s%q|", s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Limits on what an agent may report. They keep one broken or hostile agent
// from filling the database.
const (
	MaxPackages     = 100_000
	MaxFieldLen     = 1024
	MaxInterfaces   = 256
	MaxServices     = 4096
	MaxTags         = 64
	MaxHostnameLen  = 253
	MaxEnrollTTL    = 365 * 24 * time.Hour
	MaxPackageBytes = 512 // name, version, arch, source and source version together
)

// Validate checks facts reported by an agent or an import.
func (f Facts) Validate() error {
	if err := ValidHostname(f.Hostname); err != nil {
		return err
	}
	for name, v := range map[string]string{"fqdn": f.FQDN, "os.family": f.OS.Family, "os.id": f.OS.ID,
		"os.name": f.OS.Name, "os.version": f.OS.Version, "os.codename": f.OS.Codename,
		"kernel": f.Kernel, "arch": f.Arch, "agent_version": f.AgentVersion} {
		if err := ValidText(name, v, MaxFieldLen); err != nil {
			return err
		}
	}
	if len(f.Interfaces) > MaxInterfaces {
		return Errorf(EInvalid, "facts: %d interfaces, at most %d allowed", len(f.Interfaces), MaxInterfaces)
	}
	for _, i := range f.Interfaces {
		if err := ValidText("interface name", i.Name, MaxFieldLen); err != nil {
			return err
		}
		if err := ValidText("interface mac", i.MAC, MaxFieldLen); err != nil {
			return err
		}
		if len(i.IPs) > 1024 {
			return Errorf(EInvalid, "facts: interface %q has %d addresses, at most 1024 allowed", i.Name, len(i.IPs))
		}
		for _, ip := range i.IPs {
			if err := ValidText("interface ip", ip, 64); err != nil {
				return err
			}
		}
	}
	if len(f.Services) > MaxServices {
		return Errorf(EInvalid, "facts: %d services, at most %d allowed", len(f.Services), MaxServices)
	}
	for _, s := range f.Services {
		if err := ValidText("service", s, MaxFieldLen); err != nil {
			return err
		}
	}
	return nil
}

// ValidHostname checks a host name: non-empty, printable, no spaces or slashes.
func ValidHostname(s string) error {
	if s == "" {
		return Errorf(EInvalid, "hostname is empty")
	}
	if len(s) > MaxHostnameLen {
		return Errorf(EInvalid, "hostname is %d bytes long, at most %d allowed", len(s), MaxHostnameLen)
	}
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "hostname %q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r <= ' ' || r == '/' || r == 0x7f || r == '\\' {
			return Errorf(EInvalid, "hostname %q contains %q", s, r)
		}
	}
	return nil
}

// ValidText checks a free-text field: valid UTF-8, no control characters,
// at most max bytes.
func ValidText(field, s string, max int) error {
	if len(s) > max {
		return Errorf(EInvalid, "%s is %d bytes long, at most %d allowed", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s %q is not valid UTF-8", field, s)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return Errorf(EInvalid, "%s %q contains control character %U", field, s, r)
		}
	}
	return nil
}

// ValidLabel checks a site, owner or tag: non-empty, no spaces or commas.
func ValidLabel(field, s string) error {
	if s == "" {
		return Errorf(EInvalid, "%s is empty", field)
	}
	if err := ValidText(field, s, 128); err != nil {
		return err
	}
	if strings.ContainsAny(s, " ,\t") {
		return Errorf(EInvalid, "%s %q contains a space or comma", field, s)
	}
	return nil
}

// NormalizeTags validates, sorts and de-duplicates tags.
func NormalizeTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, Errorf(EInvalid, "%d tags, at most %d allowed", len(tags), MaxTags)
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if err := ValidLabel("tag", t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Host is a managed or imported machine.
type Host struct {
	ID       int64  `json:"id"`
	Hostname string `json:"hostname"`
	FQDN     string `json:"fqdn,omitempty"`
	Site     string `json:"site,omitempty"`
	Tier     Tier   `json:"tier"`
	// TierSource says where the tier came from: "manual" (set by a
	// person or an import), "token" (the enrollment token), "rule" (a
	// tier rule) or "default". That is also the precedence: a tier rule
	// sets only default tiers and its own, never one set by hand or by
	// the token, and when the rule goes (deleted, or no longer matching)
	// the host gets the token's tier back, or the default.
	TierSource string `json:"tier_source,omitempty"`
	// TierRule is the id of the tier rule that set the tier, when
	// TierSource is "rule".
	TierRule int64 `json:"tier_rule,omitempty"`
	// HighExposure marks workstations of people who share and install a
	// lot (executives, heavy e-mail users): their findings carry more risk.
	HighExposure bool `json:"high_exposure"`
	// ExposureSource and ExposureRule say where HighExposure came from,
	// with the same values and precedence as TierSource and TierRule.
	ExposureSource string `json:"exposure_source,omitempty"`
	ExposureRule   int64  `json:"exposure_rule,omitempty"`

	Owner      string      `json:"owner,omitempty"`
	Tags       []string    `json:"tags"`
	OS         OS          `json:"os"`
	Kernel     string      `json:"kernel,omitempty"`
	Arch       string      `json:"arch,omitempty"`
	Uptime     int64       `json:"uptime_seconds,omitempty"`
	Interfaces []Interface `json:"interfaces"`
	Services   []string    `json:"services"`
	Pro        bool        `json:"pro,omitempty"` // receives extended vendor fixes (Ubuntu Pro/ESM)

	// Managed is true for hosts with an agent, false for imported assets.
	Managed      bool       `json:"managed"`
	AgentVersion string     `json:"agent_version,omitempty"`
	EnrolledAt   *time.Time `json:"enrolled_at,omitempty"`
	LastSeenAt   *time.Time `json:"last_seen_at,omitempty"`
	Stale        bool       `json:"stale"`
	Revoked      bool       `json:"revoked,omitempty"`

	// OSEOL is when the host's operating system release leaves vendor
	// support, when known; PastEOL says that date has passed.
	OSEOL   *time.Time `json:"os_eol,omitempty"`
	PastEOL bool       `json:"past_eol"`

	// Compliance is the host's state under the patch policy as of
	// AssessedAt: compliant, compliant-with-exceptions, non-compliant,
	// breached or unknown.
	Compliance string     `json:"compliance,omitempty"`
	AssessedAt *time.Time `json:"assessed_at,omitempty"`

	PackageCount int    `json:"package_count"`
	PackagesHash string `json:"packages_hash,omitempty"`
	FactsHash    string `json:"-"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IPs lists the host's addresses without prefix lengths.
func (h Host) IPs() []string {
	var out []string
	for _, i := range h.Interfaces {
		for _, ip := range i.IPs {
			if j := strings.IndexByte(ip, '/'); j >= 0 {
				ip = ip[:j]
			}
			out = append(out, ip)
		}
	}
	return out
}

// HostFilter selects hosts in a list. Zero fields match everything.
type HostFilter struct {
	Site  string
	Tier  Tier
	Tag   string
	OS    string // matches os id, name or "id:version", e.g. "debian:12"
	Stale *bool
	Query string // substring of hostname, fqdn, owner or IP
	EOL   *bool  // past the end of its OS release's support
	After int64  // cursor: only hosts with a larger id
	Limit int    // 0 means the default (100); at most 1000
}

// HostUpdate is a change to a host's editable fields; nil fields stay as they are.
type HostUpdate struct {
	Site  *string   `json:"site,omitempty"`
	Tier  *Tier     `json:"tier,omitempty"`
	Owner *string   `json:"owner,omitempty"`
	Tags  *[]string `json:"tags,omitempty"`
	// HighExposure changes the host's exposure flag.
	HighExposure *bool `json:"high_exposure,omitempty"`
}

// Validate checks an update.
func (u *HostUpdate) Validate() error {
	if u.Site != nil && *u.Site != "" {
		if err := ValidLabel("site", *u.Site); err != nil {
			return err
		}
	}
	if u.Owner != nil && *u.Owner != "" {
		if err := ValidText("owner", *u.Owner, 128); err != nil {
			return err
		}
	}
	if u.Tier != nil {
		if _, err := ParseTier(string(*u.Tier)); err != nil {
			return err
		}
	}
	if u.Tags != nil {
		t, err := NormalizeTags(*u.Tags)
		if err != nil {
			return err
		}
		*u.Tags = t
	}
	return nil
}

// EnrollToken lets agents join the fleet with preset site, tier and tags.
type EnrollToken struct {
	ID        int64     `json:"id"`
	Token     string    `json:"token,omitempty"` // only when created
	Prefix    string    `json:"prefix"`          // first characters, to recognise it
	Site      string    `json:"site,omitempty"`
	Tier      Tier      `json:"tier,omitempty"`
	Tags      []string  `json:"tags"`
	MaxUses   int       `json:"max_uses"` // 0: unlimited
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
	// HighExposure marks the hosts that enroll with the token
	// high-exposure (see Host.HighExposure).
	HighExposure bool `json:"high_exposure,omitempty"`
	// AllowReenroll lets the token take over a host whose agent is still
	// enrolled (a reinstalled machine keeping its name). Without it such
	// an enrollment is refused, so that a token cannot take over hosts.
	AllowReenroll bool `json:"allow_reenroll,omitempty"`
}

// APIToken is a long-lived credential for scripts and the CLI.
type APIToken struct {
	ID        int64      `json:"id"`
	Token     string     `json:"token,omitempty"` // only when created
	Prefix    string     `json:"prefix"`
	Name      string     `json:"name"`
	UserID    int64      `json:"user_id"`
	UserName  string     `json:"user"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Revoked   bool       `json:"revoked"`
}

// AuditEvent records who changed what, when. Events are hash-chained.
type AuditEvent struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	Detail string    `json:"detail,omitempty"` // JSON
	Hash   string    `json:"hash"`
}

// ChainHash is the hash of an audit event given the previous event's hash.
func ChainHash(prev string, e AuditEvent) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%s\n%q\n%q\n%q\n%q", prev, e.ID, e.At.UTC().Format(time.RFC3339Nano),
		e.Actor, e.Action, e.Object, e.Detail)
	return hex.EncodeToString(h.Sum(nil))
}
