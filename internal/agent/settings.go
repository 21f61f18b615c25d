package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Settings is the agent's local configuration of how it runs tasks: the
// hooks it may run, the health checks that verify an install, the
// pre-checks' limits and how to reboot. It lives on the host (for
// example /etc/patchwave/agent.json, given with --config) and never comes
// from the server: the server can only name a configured hook, never send
// a command.
//
//	{
//	  "hooks": {
//	    "pre_install":  ["/usr/local/sbin/snapshot-root"],
//	    "post_install": [],
//	    "post_reboot":  ["systemctl is-system-running --wait"],
//	    "named":        {"restart-nginx": "systemctl restart nginx"}
//	  },
//	  "checks": {
//	    "services": ["nginx", "postgresql"],
//	    "http":     ["http://127.0.0.1/healthz"],
//	    "commands": ["/usr/local/bin/app-selftest"]
//	  },
//	  "min_free_mb": 500,
//	  "refuse_pending_reboot": false,
//	  "command_timeout": "30m",
//	  "hook_timeout": "10m",
//	  "reboot_command": ["systemctl", "reboot"],
//	  "reboot_timeout": "15m"
//	}
//
// Hooks and command checks run with /bin/sh -c, with PATCHWAVE_TASK_ID,
// PATCHWAVE_TASK_KIND, PATCHWAVE_RELEASE, PATCHWAVE_PHASE, PATCHWAVE_ROOT
// and PATCHWAVE_PACKAGES (name=version, space-separated) in their
// environment. A pre-install hook that fails cancels the task on this
// host; a post-install or post-reboot hook that fails fails its
// verification.
type Settings struct {
	Hooks struct {
		PreInstall  []string          `json:"pre_install,omitempty"`
		PostInstall []string          `json:"post_install,omitempty"`
		PostReboot  []string          `json:"post_reboot,omitempty"`
		Named       map[string]string `json:"named,omitempty"`
	} `json:"hooks"`
	Checks struct {
		Services []string `json:"services,omitempty"`
		HTTP     []string `json:"http,omitempty"`
		Commands []string `json:"commands,omitempty"`
	} `json:"checks"`
	// MinFreeMB is the free space the package manager's file system must
	// have before an install (default 200).
	MinFreeMB int `json:"min_free_mb,omitempty"`
	// RefusePendingReboot fails an install on a host that already waits
	// for a reboot (by default it goes ahead, and says so).
	RefusePendingReboot bool `json:"refuse_pending_reboot,omitempty"`
	// CommandTimeout bounds each package manager command (default 30m),
	// HookTimeout each hook or check command (default 10m).
	CommandTimeout Duration `json:"command_timeout,omitzero"`
	HookTimeout    Duration `json:"hook_timeout,omitzero"`
	// RebootCommand reboots the host (default systemctl reboot).
	RebootCommand []string `json:"reboot_command,omitempty"`
	// RebootTimeout is how long the agent waits to be stopped by the
	// reboot it asked for before it reports that none came (default 15m).
	RebootTimeout Duration `json:"reboot_timeout,omitzero"`
	// BootIDFile tells one boot from the next (default
	// /proc/sys/kernel/random/boot_id); for containers and tests.
	BootIDFile string `json:"boot_id_file,omitempty"`
}

// Duration is a time.Duration written as "30m" in JSON.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"30m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q: want a duration such as \"30m\"", s)
	}
	*d = Duration(v)
	return nil
}

// withDefaults fills the zero fields of s.
func (s Settings) withDefaults() Settings {
	if s.MinFreeMB == 0 {
		s.MinFreeMB = 200
	}
	if s.CommandTimeout == 0 {
		s.CommandTimeout = Duration(30 * time.Minute)
	}
	if s.HookTimeout == 0 {
		s.HookTimeout = Duration(10 * time.Minute)
	}
	if len(s.RebootCommand) == 0 {
		s.RebootCommand = []string{"systemctl", "reboot"}
	}
	if s.RebootTimeout == 0 {
		s.RebootTimeout = Duration(15 * time.Minute)
	}
	if s.BootIDFile == "" {
		s.BootIDFile = "/proc/sys/kernel/random/boot_id"
	}
	return s
}

// maxSettings bounds the settings file.
const maxSettings = 1 << 20

// LoadSettings reads the agent's settings file; an empty path gives the
// defaults. Unknown fields and bad values are errors naming them.
func LoadSettings(path string) (Settings, error) {
	if path == "" {
		return Settings{}.withDefaults(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return Settings{}, fmt.Errorf("agent settings: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSettings+1))
	if err != nil {
		return Settings{}, fmt.Errorf("agent settings %s: %w", path, err)
	}
	if len(b) > maxSettings {
		return Settings{}, fmt.Errorf("agent settings %s: larger than %d bytes", path, maxSettings)
	}
	return ParseSettings(path, b)
}

// ParseSettings parses the settings file named name.
func ParseSettings(name string, b []byte) (Settings, error) {
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, fmt.Errorf("agent settings %s: %w", name, err)
	}
	if dec.More() {
		return Settings{}, fmt.Errorf("agent settings %s: data after the JSON object", name)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("agent settings %s: %s", name, fmt.Sprintf(format, args...))
	}
	if s.MinFreeMB < 0 {
		return Settings{}, bad("min_free_mb %d is negative", s.MinFreeMB)
	}
	for field, list := range map[string][]string{"hooks.pre_install": s.Hooks.PreInstall, "hooks.post_install": s.Hooks.PostInstall,
		"hooks.post_reboot": s.Hooks.PostReboot, "checks.commands": s.Checks.Commands, "checks.services": s.Checks.Services, "checks.http": s.Checks.HTTP} {
		for _, c := range list {
			if strings.TrimSpace(c) == "" {
				return Settings{}, bad("%s has an empty entry", field)
			}
		}
	}
	for _, u := range s.Checks.HTTP {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return Settings{}, bad("checks.http %q is not an http or https URL", u)
		}
	}
	for n, c := range s.Hooks.Named {
		if n == "" || strings.ContainsAny(n, " \t\n,") || strings.TrimSpace(c) == "" {
			return Settings{}, bad("hooks.named %q: a name without spaces and a command are needed", n)
		}
	}
	if len(s.RebootCommand) > 0 && s.RebootCommand[0] == "" {
		return Settings{}, bad("reboot_command has an empty program")
	}
	return s.withDefaults(), nil
}
