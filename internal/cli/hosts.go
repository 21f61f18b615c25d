package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// hostVerbs is the verb table of "patchwave hosts".
func hostVerbs() []command {
	return []command{
		{"list", "list hosts, filtered by site, tier, tag, OS, staleness or text", runHostsList},
		{"show", "show a host's facts and installed packages", runHostsShow},
		{"set", "change a host's site, tier, owner or tags", runHostsSet},
		{"import", "create or update hosts from a CSV inventory", runHostsImport},
		{"revoke", "revoke a host's agent credential", runHostsRevoke},
		{"delete", "delete a host", runHostsDelete},
	}
}

func runHostsList(ctx context.Context, e env, args []string) error {
	v := newVerb("hosts list", "", 0,
		"List hosts. Without --all, one page of at most --limit hosts is shown, and a note on\n"+
			"stderr says when there are more. With -o json the output is a JSON array of hosts.",
		`patchwave hosts list --site lyon --tier mission-critical
patchwave hosts list --stale --all -o json`)
	var tier tierFlag
	var f patchwave.HostFilter
	v.StringVar(&f.Site, "site", "", "only hosts at this `site`")
	v.Var(&tier, "tier", "only hosts of this `tier`: mission-critical, business-critical, business-operational or lab")
	v.StringVar(&f.Tag, "tag", "", "only hosts with this `tag`")
	v.StringVar(&f.OS, "os", "", "only hosts running this `os`: an id, a name or id:version such as debian:12")
	stale := v.Bool("stale", false, "only stale hosts (--stale=false: only hosts that checked in recently)")
	eol := v.Bool("eol", false, "only hosts whose OS release is past its end of support (--eol=false: only supported ones)")
	v.StringVar(&f.Query, "search", "", "only hosts whose hostname, FQDN, owner or IP address contains `text`")
	v.IntVar(&f.Limit, "limit", 0, "at most `n` hosts (with --all: per request); 0 for the server's default")
	all := v.Bool("all", false, "list every matching host, following the pages")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if f.Limit < 0 {
		return v.usageErrorf("--limit must not be negative")
	}
	f.Tier = patchwave.Tier(tier)
	if v.given("stale") {
		f.Stale = stale
	}
	if v.given("eol") {
		f.EOL = eol
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	var hosts []patchwave.Host
	if *all {
		hosts, err = c.AllHosts(ctx, f)
	} else {
		var next string
		hosts, next, err = c.ListHosts(ctx, f)
		if err == nil && next != "" {
			defer fmt.Fprintf(e.stderr, "patchwave: more hosts match: use --all to list them all\n")
		}
	}
	if err != nil {
		return fmt.Errorf("list hosts: %w", err)
	}
	if hosts == nil {
		hosts = []patchwave.Host{}
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, hosts)
	}
	return hostTable(e.stdout, hosts, time.Now())
}

// hostTable prints hosts as a table, one per row.
func hostTable(w io.Writer, hosts []patchwave.Host, now time.Time) error {
	t := newTable(w, "ID", "HOSTNAME", "SITE", "TIER", "OWNER", "OS", "IP", "PACKAGES", "LAST SEEN", "STATE", "TAGS")
	for _, h := range hosts {
		ip := ""
		if ips := h.IPs(); len(ips) > 0 {
			ip = ips[0]
			if len(ips) > 1 {
				ip += fmt.Sprintf(" (+%d)", len(ips)-1)
			}
		}
		pkgs := ""
		if h.Managed || h.PackageCount > 0 {
			pkgs = strconv.Itoa(h.PackageCount)
		}
		t.row(strconv.FormatInt(h.ID, 10), h.Hostname, h.Site, string(h.Tier), h.Owner, osName(h.OS), ip, pkgs,
			ago(h.LastSeenAt, now, "never"), hostState(h), list(h.Tags))
	}
	return t.flush()
}

// osName is a short description of an operating system.
func osName(o patchwave.OS) string {
	if o.Name != "" {
		return o.Name
	}
	return strings.TrimSpace(o.ID + " " + o.Version)
}

// hostState sums up a host in a word.
func hostState(h patchwave.Host) string {
	switch {
	case h.Revoked:
		return "revoked"
	case !h.Managed:
		return "imported"
	case h.Stale:
		return "stale"
	}
	return "active"
}

func runHostsShow(ctx context.Context, e env, args []string) error {
	v := newVerb("hosts show", "HOST", 1,
		"Show a host, named by its id or hostname: its facts, its missing patches and\n"+
			"unfixed vulnerabilities, then its installed packages.\n"+
			`With -o json the output is {"host": {...}, "findings": [...], "packages": [...]}.`,
		`patchwave hosts show web-01
patchwave hosts show 42 -o json`)
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	h, err := c.Host(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("show host %s: %w", pos[0], err)
	}
	pkgs, err := c.HostPackages(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("show host %s: packages: %w", pos[0], err)
	}
	findings, err := c.HostFindings(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("show host %s: findings: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, struct {
			Host     patchwave.Host      `json:"host"`
			Findings []patchwave.Finding `json:"findings"`
			Packages []patchwave.Package `json:"packages"`
		}{h, findings, pkgs})
	}
	now := time.Now()
	k := newKV(e.stdout)
	k.line("ID", strconv.FormatInt(h.ID, 10))
	k.line("Hostname", h.Hostname)
	k.line("FQDN", h.FQDN)
	k.line("Site", h.Site)
	k.line("Tier", string(h.Tier))
	k.line("Owner", h.Owner)
	k.line("Tags", strings.Join(h.Tags, ", "))
	k.line("State", hostState(h))
	k.line("OS", osName(h.OS))
	if h.OSEOL != nil {
		eol := "supported until " + h.OSEOL.Format("2006-01-02")
		if h.PastEOL {
			eol = "PAST END OF LIFE since " + h.OSEOL.Format("2006-01-02")
		}
		k.line("OS support", eol)
	}
	k.line("Kernel", h.Kernel)
	k.line("Arch", h.Arch)
	if h.Uptime > 0 {
		k.line("Uptime", (time.Duration(h.Uptime) * time.Second).String())
	}
	for _, i := range h.Interfaces {
		k.line("Interface "+i.Name, strings.TrimSpace(i.MAC+" "+strings.Join(i.IPs, " ")))
	}
	if len(h.Services) > 0 {
		k.line("Services", strings.Join(h.Services, ", "))
	}
	k.line("Agent version", h.AgentVersion)
	k.line("Enrolled", whenPtr(h.EnrolledAt, ""))
	k.line("Last seen", ago(h.LastSeenAt, now, "never"))
	k.line("Created", when(h.CreatedAt))
	k.line("Updated", when(h.UpdatedAt))
	k.line("Packages", strconv.Itoa(len(pkgs)))
	k.line("Findings", findingSummary(findings))
	if err := k.flush(); err != nil {
		return err
	}
	if len(findings) > 0 {
		fmt.Fprintln(e.stdout)
		if err := findingTable(e.stdout, findings, false); err != nil {
			return err
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout)
	t := newTable(e.stdout, "PACKAGE", "VERSION", "ARCH", "SOURCE")
	for _, p := range pkgs {
		src := p.Source
		if p.SourceVersion != "" {
			src = strings.TrimSpace(src + " " + p.SourceVersion)
		}
		t.row(p.Name, p.Version, p.Arch, src)
	}
	return t.flush()
}

func runHostsSet(ctx context.Context, e env, args []string) error {
	v := newVerb("hosts set", "HOST", 1,
		"Change a host, named by its id or hostname. Only the flags given are changed; an empty\n"+
			`value clears a site, owner or the tags (--tags "").`,
		`patchwave hosts set web-01 --tier mission-critical --tags dmz,web
patchwave hosts set 42 --owner "" --site lyon`)
	var tier tierFlag
	var tags listFlag
	site := v.String("site", "", "the host's `site`")
	v.Var(&tier, "tier", "the host's `tier`: mission-critical, business-critical, business-operational or lab")
	owner := v.String("owner", "", "the host's `owner`")
	v.Var(&tags, "tags", "the host's tags, a comma-separated `list` that replaces the current one")
	exposure := v.Bool("high-exposure", false, "mark a workstation whose user shares and installs a lot (--high-exposure=false to clear)")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	var u patchwave.HostUpdate
	if v.given("site") {
		u.Site = site
	}
	if v.given("tier") {
		t := patchwave.Tier(tier)
		u.Tier = &t
	}
	if v.given("owner") {
		u.Owner = owner
	}
	if v.given("tags") {
		t := []string(tags)
		if t == nil {
			t = []string{}
		}
		u.Tags = &t
	}
	if v.given("high-exposure") {
		u.HighExposure = exposure
	}
	if u.Site == nil && u.Tier == nil && u.Owner == nil && u.Tags == nil && u.HighExposure == nil {
		return v.usageErrorf("nothing to change: give --site, --tier, --owner, --tags or --high-exposure")
	}
	if err := u.Validate(); err != nil {
		return v.usageErrorf("%s", patchwave.ErrorMessage(err))
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	h, err := c.UpdateHost(ctx, pos[0], u)
	if err != nil {
		return fmt.Errorf("change host %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, h)
	}
	return hostTable(e.stdout, []patchwave.Host{h}, time.Now())
}

func runHostsImport(ctx context.Context, e env, args []string) error {
	v := newVerb("hosts import", "FILE.csv", 1,
		"Create or update hosts from a CSV file (\"-\" for stdin). The first row names the columns:\n"+
			"hostname (required), ip, os, site, tier, owner, tags (a quoted comma-separated list), fqdn, mac.\n"+
			"Hosts are matched by hostname. The import is all or nothing: a broken row is named and\n"+
			"nothing is stored.",
		`patchwave hosts import inventory.csv
printf 'hostname,site,tier\nweb-01,lyon,lab\n' | patchwave hosts import -`)
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	name := pos[0]
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("import hosts: %w", err)
		}
		defer f.Close()
		r = f
	} else {
		name = "stdin"
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	res, err := c.ImportHosts(ctx, r)
	if err != nil {
		return fmt.Errorf("import hosts from %s: %w", name, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, res)
	}
	_, err = fmt.Fprintf(e.stdout, "Imported %s: %d created, %d updated.\n", name, res.Created, res.Updated)
	return err
}

func runHostsRevoke(ctx context.Context, e env, args []string) error {
	v := newVerb("hosts revoke", "HOST", 1,
		"Revoke the agent credential of a host, named by its id or hostname: its agent is refused\n"+
			"from now on. The host and its history stay; enroll it again to manage it again.",
		"patchwave hosts revoke web-01")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	h, err := c.RevokeHost(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("revoke host %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, h)
	}
	_, err = fmt.Fprintf(e.stdout, "Revoked host %s (id %d): its agent is refused from now on.\n", cell(h.Hostname), h.ID)
	return err
}

func runHostsDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("hosts delete", "HOST", 1,
		"Delete a host, named by its id or hostname, with its facts and packages.\n"+
			"To stop an agent but keep the host's record, use \"patchwave hosts revoke\" instead.",
		"patchwave hosts delete web-01")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeleteHost(ctx, pos[0]); err != nil {
		return fmt.Errorf("delete host %s: %w", pos[0], err)
	}
	_, err = fmt.Fprintf(e.stdout, "Deleted host %s.\n", cell(pos[0]))
	return err
}
