package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// userVerbs is the verb table of "patchwave users".
func userVerbs() []command {
	return []command{
		{"create", "create a user (admins only)", runUsersCreate},
		{"list", "list users", runUsersList},
		{"set", "change a user's role, sites, password or whether it is disabled", runUsersSet},
	}
}

const rolesHelp = "admin, operator, approver, site-admin or viewer"

func runUsersCreate(ctx context.Context, e env, args []string) error {
	v := newVerb("users create", "", 0,
		"Create a user. The password is read from stdin with --password-stdin, otherwise asked\n"+
			"for on the terminal. Site admins manage the hosts of the sites given with --sites.",
		`echo "$PASSWORD" | patchwave users create --name bob --role site-admin --sites lyon,paris --password-stdin`)
	var role roleFlag
	var sites listFlag
	name := v.String("name", "", "the user's `name` (required)")
	v.Var(&role, "role", "the user's `role` (required): "+rolesHelp)
	v.Var(&sites, "sites", "the sites a site-admin manages, a comma-separated `list`")
	fromStdin := v.Bool("password-stdin", false, "read the password from stdin")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *name == "" {
		return v.usageErrorf("--name is required")
	}
	if role == "" {
		return v.usageErrorf("--role is required (%s)", rolesHelp)
	}
	if err := patchwave.ValidLabel("user name", *name); err != nil {
		return v.usageErrorf("%s", patchwave.ErrorMessage(err))
	}
	if err := checkSites(sites); err != nil {
		return v.usageErrorf("%s", patchwave.ErrorMessage(err))
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	password, err := e.password(ctx, *fromStdin, "Password for "+*name+": ")
	if err != nil {
		return err
	}
	u, err := c.CreateUser(ctx, client.NewUser{Name: *name, Password: password, Role: patchwave.Role(role), Sites: sites})
	if err != nil {
		return fmt.Errorf("create user %s: %w", *name, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, u)
	}
	return userTable(e, []patchwave.User{u})
}

// checkSites checks a list of sites.
func checkSites(sites []string) error {
	for _, s := range sites {
		if err := patchwave.ValidLabel("site", s); err != nil {
			return err
		}
	}
	return nil
}

func userTable(e env, users []patchwave.User) error {
	t := newTable(e.stdout, "ID", "NAME", "ROLE", "SITES", "STATE", "CREATED")
	for _, u := range users {
		state := "active"
		if u.Disabled {
			state = "disabled"
		}
		t.row(strconv.FormatInt(u.ID, 10), u.Name, string(u.Role), list(u.Sites), state, when(u.CreatedAt))
	}
	return t.flush()
}

func runUsersList(ctx context.Context, e env, args []string) error {
	v := newVerb("users list", "", 0,
		"List users. With -o json the output is a JSON array.",
		"patchwave users list -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	users, err := c.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, users)
	}
	return userTable(e, users)
}

func runUsersSet(ctx context.Context, e env, args []string) error {
	v := newVerb("users set", "NAME", 1,
		"Change a user. Only the flags given are changed. --password-stdin reads a new password\n"+
			"from stdin; --disabled locks the user out, --disabled=false lets it back in.",
		`patchwave users set bob --role viewer --sites ""
patchwave users set bob --disabled
echo "$NEW_PASSWORD" | patchwave users set bob --password-stdin`)
	var role roleFlag
	var sites listFlag
	v.Var(&role, "role", "the user's `role`: "+rolesHelp)
	v.Var(&sites, "sites", "the sites a site-admin manages, a comma-separated `list` that replaces the current one")
	disabled := v.Bool("disabled", false, "disable the user (--disabled=false: enable it)")
	fromStdin := v.Bool("password-stdin", false, "read a new password from stdin")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	var u client.UserUpdate
	if v.given("role") {
		r := patchwave.Role(role)
		u.Role = &r
	}
	if v.given("sites") {
		if err := checkSites(sites); err != nil {
			return v.usageErrorf("%s", patchwave.ErrorMessage(err))
		}
		s := []string(sites)
		if s == nil {
			s = []string{}
		}
		u.Sites = &s
	}
	if v.given("disabled") {
		u.Disabled = disabled
	}
	if u.Role == nil && u.Sites == nil && u.Disabled == nil && !*fromStdin {
		return v.usageErrorf("nothing to change: give --role, --sites, --disabled or --password-stdin")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if *fromStdin {
		p, err := e.password(ctx, true, "")
		if err != nil {
			return err
		}
		u.Password = &p
	}
	user, err := c.UpdateUser(ctx, pos[0], u)
	if err != nil {
		return fmt.Errorf("change user %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, user)
	}
	return userTable(e, []patchwave.User{user})
}

func runAudit(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		for _, c := range auditVerbs() {
			if args[0] == c.name {
				return c.run(ctx, e, args[1:])
			}
		}
	}
	v := newVerb("audit", "", 0,
		"Show the audit log, newest first: who changed what, and when. With -o json the output is\n"+
			"a JSON array of events, including their details and chain hashes. To page back, pass the\n"+
			"smallest id shown as --before.\n\n"+
			"  patchwave audit verify   prove the hash chain intact, or name its first broken link\n"+
			"  patchwave audit export   write a date range as JSON lines or CSV",
		`patchwave audit --limit 20
patchwave audit --before 1200 -o json`)
	limit := v.Int("limit", 0, "at most `n` events; 0 for the server's default")
	before := v.Int64("before", 0, "only events older than the one with this `id`")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *limit < 0 || *before < 0 {
		return v.usageErrorf("--limit and --before must not be negative")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	events, err := c.Audit(ctx, *before, *limit)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, events)
	}
	t := newTable(e.stdout, "ID", "TIME", "ACTOR", "ACTION", "OBJECT")
	for _, ev := range events {
		t.row(strconv.FormatInt(ev.ID, 10), ev.At.Local().Format(time.DateTime), ev.Actor, ev.Action, ev.Object)
	}
	return t.flush()
}
