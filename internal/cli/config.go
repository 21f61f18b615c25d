package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/tlsca"
)

// The environment variables that override the saved connection.
const (
	envServer = "PATCHWAVE_SERVER"
	envToken  = "PATCHWAVE_TOKEN"
)

// savedLogin is what "patchwave login" keeps in the user's configuration
// directory: the server, the API token and the user it belongs to.
type savedLogin struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	User   string `json:"user"`
}

// configPath is the file the login is saved in.
func (e env) configPath() (string, error) {
	dir, err := e.configDir()
	if err != nil {
		return "", fmt.Errorf("find the configuration directory: %w", err)
	}
	return filepath.Join(dir, "patchwave", "config.json"), nil
}

// loadLogin reads the saved login. ok is false when there is none.
func (e env) loadLogin() (l savedLogin, ok bool, err error) {
	path, err := e.configPath()
	if err != nil {
		return l, false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read saved login: %w", err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, false, fmt.Errorf("read saved login %s: %w (run patchwave logout, then patchwave login)", path, err)
	}
	return l, true, nil
}

// saveLogin writes l to the configuration file, readable by the user only,
// atomically: a crash leaves the old file or the new one, never half of one.
func (e env) saveLogin(l savedLogin) (string, error) {
	path, err := e.configPath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	// The directory may predate us with looser permissions.
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.json") // mode 0600
	if err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("save login: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return "", fmt.Errorf("save login: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("save login: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	return path, nil
}

// removeLogin deletes the saved login; ok is false when there was none.
func (e env) removeLogin() (ok bool, err error) {
	path, err := e.configPath()
	if err != nil {
		return false, err
	}
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove saved login: %w", err)
	}
	return true, nil
}

// errNotLoggedIn is returned when there is no server or token to use.
var errNotLoggedIn = errors.New("not logged in: run patchwave login or set " + envServer + " and " + envToken)

// connect returns a client of the server the user chose: PATCHWAVE_SERVER
// and PATCHWAVE_TOKEN override the saved login. The saved token is never
// sent to a server other than the one it was saved for.
func (e env) connect() (*client.Client, error) {
	server, token, err := e.connection()
	if err != nil {
		return nil, err
	}
	c, err := e.newClient(server, token)
	if err != nil {
		return nil, err
	}
	c.OnWarning = func(msg string) { fmt.Fprintf(e.stderr, "patchwave: warning: %s\n", msg) }
	return c, nil
}

// envCAFile names a CA certificate (PEM) the CLI trusts alone, for a
// server with its own CA (--tls-auto).
const envCAFile = "PATCHWAVE_CA_FILE"

// newClient returns a client of server, trusting only the CA of
// PATCHWAVE_CA_FILE when it is set.
func (e env) newClient(server, token string) (*client.Client, error) {
	c := client.New(server, token)
	c.UserAgent = "patchwave-cli/" + programVersion()
	if f := e.getenv(envCAFile); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envCAFile, err)
		}
		ca, err := tlsca.ParseCertPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", envCAFile, f, err)
		}
		c = c.WithHTTPClient(&http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{TLSClientConfig: tlsca.PinnedConfig(ca), Proxy: http.ProxyFromEnvironment}})
	}
	return c, nil
}

// connection returns the server and token to use.
func (e env) connection() (server, token string, err error) {
	server, token = e.getenv(envServer), e.getenv(envToken)
	if server == "" || token == "" {
		saved, ok, err := e.loadLogin()
		if err != nil {
			return "", "", err
		}
		if ok {
			switch {
			case server == "":
				server = saved.Server
				if token == "" {
					token = saved.Token
				}
			case token == "" && sameServer(server, saved.Server):
				token = saved.Token
			}
		}
	}
	if server == "" || token == "" {
		return "", "", errNotLoggedIn
	}
	if err := checkServerURL(server); err != nil {
		return "", "", err
	}
	return server, token, nil
}

// sameServer reports whether two server URLs name the same server.
func sameServer(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// checkServerURL checks s is an http or https URL with a host.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server %q is not a URL like https://patchwave.example.com", s)
	}
	return nil
}
