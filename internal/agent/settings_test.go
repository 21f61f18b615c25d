package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings("agent.json", []byte(`{
	  "hooks": {"pre_install": ["/usr/local/sbin/snapshot-root"], "post_reboot": ["systemctl is-system-running --wait"],
	            "named": {"restart-nginx": "systemctl restart nginx"}},
	  "checks": {"services": ["nginx"], "http": ["http://127.0.0.1/healthz"], "commands": ["true"]},
	  "min_free_mb": 500, "refuse_pending_reboot": true,
	  "command_timeout": "45m", "reboot_command": ["shutdown", "-r", "now"], "reboot_timeout": "5m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.MinFreeMB != 500 || !s.RefusePendingReboot || time.Duration(s.CommandTimeout) != 45*time.Minute ||
		time.Duration(s.HookTimeout) != 10*time.Minute || time.Duration(s.RebootTimeout) != 5*time.Minute ||
		strings.Join(s.RebootCommand, " ") != "shutdown -r now" || s.Hooks.Named["restart-nginx"] != "systemctl restart nginx" ||
		len(s.Hooks.PreInstall) != 1 || len(s.Checks.HTTP) != 1 || s.BootIDFile != "/proc/sys/kernel/random/boot_id" {
		t.Errorf("settings %+v", s)
	}

	// No file: the defaults.
	d, err := LoadSettings("")
	if err != nil || d.MinFreeMB != 200 || time.Duration(d.CommandTimeout) != 30*time.Minute || d.RebootCommand[0] != "systemctl" {
		t.Errorf("defaults %+v, %v", d, err)
	}

	for _, tc := range []struct{ name, in, want string }{
		{"not json", `hooks: []`, "agent settings x.json: invalid character"},
		{"unknown field", `{"hook": {}}`, `unknown field "hook"`},
		{"two objects", `{} {}`, "data after the JSON object"},
		{"negative space", `{"min_free_mb": -1}`, "min_free_mb -1 is negative"},
		{"empty hook", `{"hooks": {"pre_install": [" "]}}`, "hooks.pre_install has an empty entry"},
		{"empty check", `{"checks": {"services": [""]}}`, "checks.services has an empty entry"},
		{"bad url", `{"checks": {"http": ["file:///etc/passwd"]}}`, `checks.http "file:///etc/passwd" is not an http or https URL`},
		{"named hook with space", `{"hooks": {"named": {"two words": "true"}}}`, `hooks.named "two words"`},
		{"named hook without command", `{"hooks": {"named": {"x": ""}}}`, `hooks.named "x"`},
		{"bad duration", `{"hook_timeout": "soon"}`, `duration "soon"`},
		{"negative duration", `{"reboot_timeout": "-5m"}`, `duration "-5m"`},
		{"number duration", `{"command_timeout": 30}`, `want a duration such as "30m"`},
		{"empty reboot program", `{"reboot_command": [""]}`, "reboot_command has an empty program"},
	} {
		if _, err := ParseSettings("x.json", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}

	if _, err := LoadSettings(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	os.WriteFile(big, []byte(`{"hooks":{"pre_install":["`+strings.Repeat("x", 2<<20)+`"]}}`), 0o600)
	if _, err := LoadSettings(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

func FuzzParseSettings(f *testing.F) {
	f.Add([]byte(`{"hooks":{"named":{"a":"true"}},"checks":{"http":["http://x"]},"min_free_mb":1,"hook_timeout":"1s"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"reboot_command":[""]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSettings("f", b)
		if err != nil {
			return
		}
		// What parses has its defaults and passes its own checks.
		if s.MinFreeMB <= 0 || s.CommandTimeout <= 0 || s.HookTimeout <= 0 || s.RebootTimeout <= 0 || len(s.RebootCommand) == 0 || s.RebootCommand[0] == "" {
			t.Fatalf("parsed settings without defaults: %+v", s)
		}
	})
}
