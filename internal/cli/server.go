package cli

// The commands that run Patchwave itself rather than talk to it.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"
	_ "time/tzdata" // --time-zone works on hosts without a zone database

	"github.com/patchwave/patchwave/internal/agent"
	"github.com/patchwave/patchwave/internal/auth"
	"github.com/patchwave/patchwave/internal/bench"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
)

// newLogger returns a logger writing text or JSON lines to w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// runServer runs "patchwave server": API, web UI and schedulers.
func runServer(ctx context.Context, e env, args []string) error {
	v := newVerb("server", "", 0, `Run the Patchwave server: the HTTP API, the web UI and the background loops.
By default it keeps its data in an embedded SQLite database under --data-dir;
give --database postgres://... to share one PostgreSQL between several replicas.
On the first start with an empty database it creates the user admin, with the
password from PATCHWAVE_ADMIN_PASSWORD or else a generated one printed once in the log.`,
		"patchwave server --data-dir ./data\nPATCHWAVE_ADMIN_PASSWORD=... patchwave server --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem\npatchwave server --database postgres://patchwave@db/patchwave")
	var cfg server.Config
	v.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve on")
	v.StringVar(&cfg.DataDir, "data-dir", "data", "directory of the embedded SQLite database")
	v.StringVar(&cfg.Database, "database", e.getenv("PATCHWAVE_DATABASE"), "PostgreSQL URL (postgres://...); empty for SQLite in --data-dir (env PATCHWAVE_DATABASE)")
	v.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	v.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	v.BoolVar(&cfg.TLSAuto, "tls-auto", false, "be your own CA: make a CA and a server certificate under --data-dir/tls on the first start, and log the CA fingerprint agents pin")
	tlsHosts := v.String("tls-hosts", "", "with --tls-auto, the comma-separated names and addresses of the server certificate (default: this machine's name, localhost, the loopback addresses)")
	v.DurationVar(&cfg.CheckinInterval, "checkin-interval", time.Hour, "how often agents check in")
	v.DurationVar(&cfg.StaleAfter, "stale-after", 72*time.Hour, "a managed host not seen for this long is stale")
	zone := v.String("time-zone", cmp.Or(e.getenv("PATCHWAVE_TIME_ZONE"), "UTC"),
		"the organisation's IANA time `zone` (Europe/Paris), in which release cycles and exclusion deadlines fall (env PATCHWAVE_TIME_ZONE)")
	v.DurationVar(&cfg.RolloutInterval, "rollout-interval", 15*time.Second, "how often the rollout driver looks at running releases")
	v.BoolVar(&cfg.NoRollouts, "no-rollouts", false, "do not drive rollouts on this replica (another replica does)")
	v.DurationVar(&cfg.AgentWait, "agent-wait", 50*time.Second, "how long agents long-poll for new tasks between check-ins (0: they do not)")
	logFormat := v.String("log-format", "text", "log format: text or json")
	logLevel := v.String("log-level", "info", "log level: debug, info, warn or error")
	printConfig := v.Bool("print-config", false, "print the effective settings as JSON, secrets redacted, and exit")
	if _, err := v.parse(args); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return v.usageErrorf("%s", err)
	}
	if cfg.Location, err = parseZone(*zone); err != nil {
		return v.usageErrorf("--time-zone: %s", err)
	}
	cfg.AdminPassword = e.getenv("PATCHWAVE_ADMIN_PASSWORD")
	if *tlsHosts != "" {
		if !cfg.TLSAuto {
			return v.usageErrorf("--tls-hosts goes with --tls-auto")
		}
		cfg.TLSHosts = splitList(*tlsHosts)
	}
	if *printConfig {
		return writeJSON(e.stdout, effectiveConfig(cfg, *logFormat, *logLevel))
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer srv.Close()
	if err := srv.ListenAndServe(ctx, nil); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	log.Info("patchwave server stopped")
	return nil
}

// effectiveConfig is what --print-config shows: every setting the server
// runs with, the database password and the admin password redacted.
func effectiveConfig(cfg server.Config, logFormat, logLevel string) map[string]any {
	db := "sqlite:" + filepath.Join(cfg.DataDir, "patchwave.db")
	if cfg.Database != "" {
		db = redactURL(cfg.Database)
	}
	admin := "(generated on first start)"
	if cfg.AdminPassword != "" {
		admin = "(from PATCHWAVE_ADMIN_PASSWORD, redacted)"
	}
	return map[string]any{
		"listen": cfg.Listen, "data_dir": cfg.DataDir, "database": db,
		"tls_cert": cfg.TLSCert, "tls_key": cfg.TLSKey, "tls": cfg.TLSCert != "" || cfg.TLSAuto, "tls_auto": cfg.TLSAuto, "tls_hosts": cfg.TLSHosts,
		"checkin_interval": cfg.CheckinInterval.String(), "stale_after": cfg.StaleAfter.String(),
		"time_zone": cfg.Location.String(), "rollout_interval": cfg.RolloutInterval.String(),
		"no_rollouts": cfg.NoRollouts, "agent_wait": cfg.AgentWait.String(),
		"log_format": logFormat, "log_level": logLevel, "admin_password": admin,
	}
}

// redactURL hides the password of a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL, redacted)"
	}
	return u.Redacted()
}

// parseZone reads an IANA time zone name such as Europe/Paris, or UTC.
// Local is refused: the organisation's zone should not depend on the
// machine a replica runs on.
func parseZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("want an IANA time zone such as UTC or Europe/Paris, not %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: want an IANA name such as UTC or Europe/Paris", name)
	}
	return loc, nil
}

// runAgent runs "patchwave agent" on a host.
func runAgent(ctx context.Context, e env, args []string) error {
	v := newVerb("agent", "", 0, `Run the agent: enroll with the server once (with --enroll-token), then check
in on an interval, reporting the host's facts and installed packages. After
the first full report only changes are sent. The credential is kept in
--state-dir (mode 0600); later runs need no token.

Between check-ins the agent long-polls the server, so a task reaches it at
once. It runs only tasks signed by the server it enrolled with: installs of
exact versions with pre-checks, the hooks and health checks of --config, a
reboot as the wave says and a rollback when verification fails. Tasks and
their results are journalled in --state-dir/tasks, so a crash or a reboot
resumes a task and results wait on disk until the server has them.`,
		"patchwave agent --server http://127.0.0.1:8080 --enroll-token pwe_... --state-dir /var/lib/patchwave-agent\npatchwave agent --state-dir /var/lib/patchwave-agent --once\npatchwave agent --server URL --enroll-token TOKEN --state-dir ./st --root /mnt/image --once")
	var cfg agent.Config
	v.StringVar(&cfg.Server, "server", e.getenv("PATCHWAVE_SERVER"), "server URL (env PATCHWAVE_SERVER); saved at enrollment")
	v.StringVar(&cfg.EnrollToken, "enroll-token", e.getenv("PATCHWAVE_ENROLL_TOKEN"), "enrollment token, for the first run (env PATCHWAVE_ENROLL_TOKEN)")
	v.StringVar(&cfg.StateDir, "state-dir", "/var/lib/patchwave-agent", "directory for the agent's identity and state")
	v.StringVar(&cfg.Root, "root", "/", "root directory of the system to inventory (a mounted image or container root)")
	v.BoolVar(&cfg.Once, "once", false, "check in once and exit")
	v.DurationVar(&cfg.Interval, "interval", time.Hour, "check-in interval until the server sets one")
	settings := v.String("config", "", "the agent's settings `file` (JSON): hooks, health checks, pre-check limits, reboot command")
	v.BoolVar(&cfg.NoWait, "no-wait", false, "do not long-poll for new tasks between check-ins")
	v.StringVar(&cfg.CAFingerprint, "ca-fingerprint", e.getenv("PATCHWAVE_CA_FINGERPRINT"), "the `sha256:...` fingerprint of the server's CA (logged by a server with --tls-auto), pinned at enrollment or at the next check-in if none is pinned yet (env PATCHWAVE_CA_FINGERPRINT)")
	v.StringVar(&cfg.CAFile, "ca-file", "", "the server's CA certificate `file` (PEM), pinned like --ca-fingerprint")
	logFormat := v.String("log-format", "text", "log format: text or json")
	logLevel := v.String("log-level", "info", "log level: debug, info, warn or error")
	if _, err := v.parse(args); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return v.usageErrorf("%s", err)
	}
	if cfg.Settings, err = agent.LoadSettings(*settings); err != nil {
		return err
	}
	cfg.Logger, cfg.Version = log, programVersion()
	if err := agent.Run(ctx, cfg); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// runBench runs "patchwave bench": simulated agents against a server.
func runBench(ctx context.Context, e env, args []string) error {
	v := newVerb("bench", "", 0, `Load-test a server with simulated agents over real HTTP, and print the figures:
enrollment, first full inventory reports (hosts/s) and check-ins with
unchanged inventory (check-ins/s, p50/p99 latency). Without --server it starts
its own server on loopback, on SQLite in a temporary directory or on
--database, so the figures include the agents' own work on the same machine.`,
		"patchwave bench --agents 5000 --packages 1000 --duration 10s\npatchwave bench --database postgres://localhost/bench --agents 10000")
	var cfg bench.Config
	v.IntVar(&cfg.Agents, "agents", 5000, "simulated agents")
	v.IntVar(&cfg.Packages, "packages", 1000, "installed packages per agent")
	v.IntVar(&cfg.Concurrency, "concurrency", 32, "requests in flight")
	v.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of the unchanged check-in phase")
	v.BoolVar(&cfg.DistinctSets, "distinct", true, "give every host its own package set (the worst case for ingestion)")
	serverURL := v.String("server", "", "server to load; empty to start one here")
	database := v.String("database", "", "with no --server: PostgreSQL URL for the server started here (default SQLite)")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	cfg.Progress = e.stderr
	if *serverURL != "" {
		cfg.Server, cfg.Token = *serverURL, e.getenv("PATCHWAVE_TOKEN")
		if cfg.Token == "" {
			return fmt.Errorf("bench: set PATCHWAVE_TOKEN to an operator's API token for --server")
		}
	} else {
		dir, err := os.MkdirTemp("", "patchwave-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		password := auth.RandomPassword()
		srv, err := server.New(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: *database, AdminPassword: password}, nil)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer srv.Close()
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		ready := make(chan string, 1)
		go srv.ListenAndServe(sctx, func(addr string) { ready <- addr })
		select {
		case cfg.Server = <-ready:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("bench: server did not start")
		}
		var login struct{ Token string }
		if err := client.New(cfg.Server, "").Do(ctx, "POST", "/api/v1/login", nil, map[string]string{"user": "admin", "password": password}, &login); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.Token = login.Token
		fmt.Fprintf(e.stderr, "server started at %s (%s)\n", cfg.Server, map[bool]string{true: "postgres", false: "sqlite"}[*database != ""])
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintln(e.stdout, res)
	return nil
}
