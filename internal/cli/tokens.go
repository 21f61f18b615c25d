package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// enrollTokenVerbs is the verb table of "patchwave enroll-tokens".
func enrollTokenVerbs() []command {
	return []command{
		{"create", "create a token that lets agents enroll, with preset site, tier and tags", runEnrollTokensCreate},
		{"list", "list enrollment tokens", runEnrollTokensList},
		{"revoke", "revoke an enrollment token", runEnrollTokensRevoke},
	}
}

// agentCommand is the command line that enrolls a host with token.
func agentCommand(server, token string) string {
	return "patchwave agent --server " + server + " --enroll-token " + token
}

func runEnrollTokensCreate(ctx context.Context, e env, args []string) error {
	v := newVerb("enroll-tokens create", "", 0,
		"Create an enrollment token. Agents that enroll with it join with its site, tier, tags and exposure.\n"+
			"The token is shown only once, with the command to run on each host.",
		`patchwave enroll-tokens create --site lyon --tier lab --tags web,dmz --max-uses 50 --expires 168h`)
	var tier tierFlag
	var tags listFlag
	var req client.EnrollTokenRequest
	req.Expires = "168h"
	v.StringVar(&req.Site, "site", "", "the `site` of the hosts that enroll")
	v.Var(&tier, "tier", "the `tier` of the hosts that enroll: mission-critical, business-critical, business-operational or lab")
	v.Var(&tags, "tags", "the tags of the hosts that enroll, a comma-separated `list`")
	v.IntVar(&req.MaxUses, "max-uses", 0, "how many hosts may enroll with it, `n`; 0 for no limit")
	v.Var((*durationFlag)(&req.Expires), "expires", "how long the token is valid, a `duration` such as 168h")
	v.BoolVar(&req.AllowReenroll, "allow-reenroll", false, "let it take over hosts whose agent is already enrolled (reinstalled machines)")
	v.BoolVar(&req.HighExposure, "high-exposure", false, "mark the hosts that enroll high-exposure (people who share and install a lot)")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if req.MaxUses < 0 {
		return v.usageErrorf("--max-uses must not be negative")
	}
	if req.Site != "" {
		if err := patchwave.ValidLabel("site", req.Site); err != nil {
			return v.usageErrorf("%s", patchwave.ErrorMessage(err))
		}
	}
	t, err := patchwave.NormalizeTags(tags)
	if err != nil {
		return v.usageErrorf("%s", patchwave.ErrorMessage(err))
	}
	req.Tags, req.Tier = t, patchwave.Tier(tier)
	c, err := e.connect()
	if err != nil {
		return err
	}
	tok, err := c.CreateEnrollToken(ctx, req)
	if err != nil {
		return fmt.Errorf("create enrollment token: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, tok)
	}
	w := e.stdout
	fmt.Fprintf(w, "Enrollment token %d created. It is shown only this once; keep it secret:\n\n", tok.ID)
	fmt.Fprintf(w, "    %s\n\n", tok.Token)
	k := newKV(w)
	k.line("  Site", tok.Site)
	k.line("  Tier", string(tok.Tier))
	k.line("  Tags", list(tok.Tags))
	k.line("  Uses", uses(tok))
	k.line("  Expires", when(tok.ExpiresAt))
	if tok.AllowReenroll {
		k.line("  Re-enroll", "may take over enrolled hosts")
	}
	if tok.HighExposure {
		k.line("  Exposure", "high")
	}
	if err := k.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTo enroll a host, run on it (as root):\n\n    %s\n", agentCommand(c.Base(), tok.Token))
	return nil
}

// uses describes how much of an enrollment token is used.
func uses(t patchwave.EnrollToken) string {
	if t.MaxUses == 0 {
		return strconv.Itoa(t.Uses) + " (no limit)"
	}
	return fmt.Sprintf("%d of %d", t.Uses, t.MaxUses)
}

// enrollTokenState sums up an enrollment token in a word.
func enrollTokenState(t patchwave.EnrollToken, now time.Time) string {
	switch {
	case t.Revoked:
		return "revoked"
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return "expired"
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return "used-up"
	}
	return "active"
}

func runEnrollTokensList(ctx context.Context, e env, args []string) error {
	v := newVerb("enroll-tokens list", "", 0,
		"List enrollment tokens, without their secrets. With -o json the output is a JSON array.",
		"patchwave enroll-tokens list -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	toks, err := c.ListEnrollTokens(ctx)
	if err != nil {
		return fmt.Errorf("list enrollment tokens: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, toks)
	}
	now := time.Now()
	t := newTable(e.stdout, "ID", "PREFIX", "SITE", "TIER", "TAGS", "USES", "EXPIRES", "CREATED BY", "STATE")
	for _, k := range toks {
		t.row(strconv.FormatInt(k.ID, 10), k.Prefix, k.Site, string(k.Tier), list(k.Tags), uses(k),
			when(k.ExpiresAt), k.CreatedBy, enrollTokenState(k, now))
	}
	return t.flush()
}

func runEnrollTokensRevoke(ctx context.Context, e env, args []string) error {
	v := newVerb("enroll-tokens revoke", "ID", 1,
		"Revoke an enrollment token: no more hosts may enroll with it. Hosts that already did\n"+
			"are not affected.",
		"patchwave enroll-tokens revoke 3")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	id, err := parseID(v, pos[0])
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.RevokeEnrollToken(ctx, id); err != nil {
		return fmt.Errorf("revoke enrollment token %d: %w", id, err)
	}
	_, err = fmt.Fprintf(e.stdout, "Revoked enrollment token %d.\n", id)
	return err
}

// parseID reads a numeric id argument.
func parseID(v *verbFlags, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, v.usageErrorf("%q is not an id (a positive number, as listed)", s)
	}
	return id, nil
}

// tokenVerbs is the verb table of "patchwave tokens".
func tokenVerbs() []command {
	return []command{
		{"create", "create an API token for scripts", runTokensCreate},
		{"list", "list API tokens", runTokensList},
		{"revoke", "revoke an API token", runTokensRevoke},
	}
}

func runTokensCreate(ctx context.Context, e env, args []string) error {
	v := newVerb("tokens create", "", 0,
		"Create an API token of your own for scripts and automation. It acts as you, with your\n"+
			"role. The token is shown only once.",
		`patchwave tokens create --name nightly-report --expires 720h
PATCHWAVE_TOKEN=$(patchwave tokens create --name ci -o json | jq -r .token)`)
	var req client.TokenRequest
	v.StringVar(&req.Name, "name", "", "what the token is for, a `name` without spaces (required)")
	v.Var((*durationFlag)(&req.Expires), "expires", "how long the token is valid, a `duration` such as 720h (default: the server's)")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if req.Name == "" {
		return v.usageErrorf("--name is required")
	}
	if err := patchwave.ValidLabel("name", req.Name); err != nil {
		return v.usageErrorf("%s", patchwave.ErrorMessage(err))
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	tok, err := c.CreateToken(ctx, req)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, tok)
	}
	w := e.stdout
	fmt.Fprintf(w, "API token %d (%s) created. It is shown only this once; keep it secret:\n\n", tok.ID, cell(tok.Name))
	fmt.Fprintf(w, "    %s\n\n", tok.Token)
	fmt.Fprintf(w, "Expires: %s\n", whenPtr(tok.ExpiresAt, "never"))
	fmt.Fprintf(w, "\nUse it with:\n\n    export %s=%s %s=%s\n", envServer, c.Base(), envToken, tok.Token)
	return nil
}

// apiTokenState sums up an API token in a word.
func apiTokenState(t patchwave.APIToken, now time.Time) string {
	switch {
	case t.Revoked:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	}
	return "active"
}

func runTokensList(ctx context.Context, e env, args []string) error {
	v := newVerb("tokens list", "", 0,
		"List the API tokens you may see, without their secrets. With -o json the output is a\n"+
			"JSON array.",
		"patchwave tokens list")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	toks, err := c.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, toks)
	}
	now := time.Now()
	t := newTable(e.stdout, "ID", "PREFIX", "NAME", "USER", "CREATED", "EXPIRES", "LAST USED", "STATE")
	for _, k := range toks {
		t.row(strconv.FormatInt(k.ID, 10), k.Prefix, k.Name, k.UserName, when(k.CreatedAt),
			whenPtr(k.ExpiresAt, "never"), ago(k.LastUsed, now, "never"), apiTokenState(k, now))
	}
	return t.flush()
}

func runTokensRevoke(ctx context.Context, e env, args []string) error {
	v := newVerb("tokens revoke", "ID", 1,
		"Revoke an API token: it is refused from now on.",
		"patchwave tokens revoke 7")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	id, err := parseID(v, pos[0])
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.RevokeToken(ctx, id); err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	_, err = fmt.Fprintf(e.stdout, "Revoked token %d.\n", id)
	return err
}
