package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

func runLogin(ctx context.Context, e env, args []string) error {
	v := newVerb("login", "", 0,
		"Sign in to a Patchwave server and save the server, an API token and the user name\n"+
			"in the user's configuration directory (patchwave/config.json, readable by the user only).\n"+
			"The password is read from stdin with --password-stdin, otherwise asked for on the terminal.",
		`echo "$PASSWORD" | patchwave login --server https://patchwave.example.com --user alice --password-stdin`)
	server := v.String("server", "", "the server's `URL` (default: "+envServer+", or the saved server)")
	user := v.String("user", "", "the user `name` (default: the saved user)")
	fromStdin := v.Bool("password-stdin", false, "read the password from stdin")
	if _, err := v.parse(args); err != nil {
		return err
	}
	saved, _, err := e.loadLogin()
	if err != nil {
		saved = savedLogin{} // a broken file is replaced by this login
	}
	if *server == "" {
		*server = e.getenv(envServer)
	}
	if *server == "" {
		*server = saved.Server
	}
	if *server == "" {
		return v.usageErrorf("no server: give --server URL")
	}
	if *user == "" && sameServer(*server, saved.Server) {
		*user = saved.User
	}
	if *user == "" {
		return v.usageErrorf("no user: give --user NAME")
	}
	if err := checkServerURL(*server); err != nil {
		return err
	}
	password, err := e.password(ctx, *fromStdin, "Password for "+*user+": ")
	if err != nil {
		return err
	}
	c, err := e.newClient(*server, "")
	if err != nil {
		return err
	}
	res, err := c.Login(ctx, *user, password)
	if patchwave.ErrorCode(err) == patchwave.EUnauthorized {
		// Not the "log in again" hint errorMessage adds to other commands.
		return errors.New("login: " + patchwave.ErrorMessage(err))
	}
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if res.Token == "" {
		return fmt.Errorf("login: the server answered without a token")
	}
	path, err := e.saveLogin(savedLogin{Server: strings.TrimRight(*server, "/"), Token: res.Token, User: res.User.Name})
	if err != nil {
		return err
	}
	name := res.User.Name
	if name == "" {
		name = *user
	}
	fmt.Fprintf(e.stdout, "Logged in to %s as %s (%s).\n", strings.TrimRight(*server, "/"), name, res.User.Role)
	if !res.ExpiresAt.IsZero() {
		fmt.Fprintf(e.stdout, "The token expires on %s.\n", when(res.ExpiresAt))
	}
	fmt.Fprintf(e.stdout, "Saved in %s.\n", path)
	return nil
}

func runLogout(ctx context.Context, e env, args []string) error {
	v := newVerb("logout", "", 0,
		"Remove the saved login, and revoke its token on the server if the server can be reached.",
		"patchwave logout")
	if _, err := v.parse(args); err != nil {
		return err
	}
	saved, ok, err := e.loadLogin()
	if err != nil {
		// Unreadable: remove it all the same.
		if _, rerr := e.removeLogin(); rerr != nil {
			return rerr
		}
		fmt.Fprintln(e.stdout, "Removed the saved login.")
		return nil
	}
	if !ok {
		fmt.Fprintln(e.stdout, "Not logged in.")
		return nil
	}
	revoked := false
	if saved.Server != "" && saved.Token != "" && checkServerURL(saved.Server) == nil {
		if c, err := e.newClient(saved.Server, saved.Token); err == nil {
			revoked = revokeOwnToken(ctx, c, saved)
		}
	}
	if _, err := e.removeLogin(); err != nil {
		return err
	}
	if revoked {
		fmt.Fprintf(e.stdout, "Logged out of %s; the token was revoked.\n", saved.Server)
	} else {
		fmt.Fprintf(e.stdout, "Logged out of %s; the token could not be revoked on the server and stays valid until it expires.\n", saved.Server)
	}
	return nil
}

// revokeOwnToken revokes the token c authenticates with, best effort: the
// API has no "revoke this token" route, so it looks for the one token of
// the user whose prefix the secret starts with.
func revokeOwnToken(ctx context.Context, c *client.Client, saved savedLogin) bool {
	tokens, err := c.ListTokens(ctx)
	if err != nil {
		return false
	}
	var match []patchwave.APIToken
	for _, t := range tokens {
		if t.Prefix != "" && strings.HasPrefix(saved.Token, t.Prefix) && !t.Revoked &&
			(saved.User == "" || t.UserName == "" || t.UserName == saved.User) {
			match = append(match, t)
		}
	}
	if len(match) != 1 {
		return false
	}
	return c.RevokeToken(ctx, match[0].ID) == nil
}

// maxPassword bounds what is read as a password.
const maxPassword = 4096

// password reads a password: all of stdin with fromStdin (one trailing
// newline removed), else a line typed on the terminal, not echoed where
// stty can turn echo off.
func (e env) password(ctx context.Context, fromStdin bool, prompt string) (string, error) {
	if fromStdin {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxPassword+1))
		if err != nil {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		if len(b) > maxPassword {
			return "", fmt.Errorf("password on stdin is longer than %d bytes", maxPassword)
		}
		p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if p == "" {
			return "", errors.New("password on stdin is empty")
		}
		return p, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", errors.New("no password: use --password-stdin, or run from a terminal to be asked")
	}
	fmt.Fprint(e.stderr, prompt)
	echoOff := exec.CommandContext(ctx, "stty", "-echo")
	echoOff.Stdin = f
	if echoOff.Run() == nil {
		defer func() {
			on := exec.Command("stty", "echo")
			on.Stdin = f
			_ = on.Run()
			fmt.Fprintln(e.stderr)
		}()
	}
	type line struct {
		s   string
		err error
	}
	done := make(chan line, 1)
	go func() {
		// Ends when a line is typed; if ctx ends first the process is exiting.
		s, err := bufio.NewReader(io.LimitReader(f, maxPassword+1)).ReadString('\n')
		done <- line{s, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case l := <-done:
		if l.err != nil && l.err != io.EOF {
			return "", fmt.Errorf("read password: %w", l.err)
		}
		p := strings.TrimRight(l.s, "\r\n")
		if p == "" {
			return "", errors.New("no password given")
		}
		return p, nil
	}
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
