package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/sim"
)

// runDemo runs "patchwave demo": a server with a living simulated fleet.
func runDemo(ctx context.Context, e env, args []string) error {
	v := newVerb("demo", "", 0, `Run a server with a simulated fleet, so that every page has something to show
within a minute: hosts in four sites and every tier on Debian 12 and Ubuntu
22.04, advisories (one in CISA's KEV catalogue) and the findings they make, a
baseline approving security fixes, five waves, and an out-of-band release
rolling out through them while the simulated agents install, fail now and then
(a held dpkg lock, a full disk, a dependency conflict, a failed service), and
report. The mission-critical wave waits for admin's approval. Everything runs
on this machine, over loopback HTTP, in a data directory of its own.`,
		"patchwave demo\npatchwave demo --hosts 200 --fail-rate 0.1 --listen 127.0.0.1:9090")
	listen := v.String("listen", "127.0.0.1:8080", "address to serve on")
	dataDir := v.String("data-dir", "demo-data", "directory of the demo's database (must not hold one)")
	hosts := v.Int("hosts", 60, "how many hosts to simulate")
	failRate := v.Float64("fail-rate", 0.05, "the share of installs that fail on the first attempt")
	interval := v.Duration("interval", 5*time.Second, "how often each simulated agent checks in")
	runFor := v.Duration("for", 0, "stop after this long (0: run until interrupted)")
	speed := v.Float64("speed", 1, "run the waves this many times faster (the lab wave soaks 20s at 1)")
	logLevel := v.String("log-level", "warn", "server log level: debug, info, warn or error")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *hosts < 1 || *hosts > 100_000 {
		return v.usageErrorf("--hosts %d: want 1 to 100000", *hosts)
	}
	if *speed < 1 || *speed > 1000 {
		return v.usageErrorf("--speed %g: want 1 to 1000", *speed)
	}
	if *failRate < 0 || *failRate > 1 {
		return v.usageErrorf("--fail-rate %g: want 0 to 1", *failRate)
	}
	if _, err := os.Stat(filepath.Join(*dataDir, dbFile)); err == nil {
		return fmt.Errorf("demo: %s holds a database already: give an empty --data-dir, or delete that one", *dataDir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("demo: %w", err)
	}
	log, err := newLogger(e.stderr, "text", *logLevel)
	if err != nil {
		return v.usageErrorf("%s", err)
	}
	password := e.getenv("PATCHWAVE_ADMIN_PASSWORD")
	if password == "" {
		b := make([]byte, 6)
		rand.Read(b)
		password = "demo-" + hex.EncodeToString(b)
	}
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	srv, err := server.New(ctx, server.Config{Listen: *listen, DataDir: *dataDir, AdminPassword: password, NoFeedSync: true,
		CheckinInterval: max(*interval, time.Second), RolloutInterval: 2 * time.Second, Location: time.UTC}, log)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer srv.Close()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(ctx, func(a string) { ready <- a }) }()
	var url string
	select {
	case url = <-ready:
	case err := <-served:
		return fmt.Errorf("demo: %w", err)
	}
	admin := client.New(url, "")
	login, err := admin.Login(ctx, "admin", password)
	if err != nil {
		return fmt.Errorf("demo: sign in: %w", err)
	}
	admin = admin.WithToken(login.Token)
	say := func(format string, args ...any) { fmt.Fprintf(e.stdout, format+"\n", args...) }
	say("Patchwave demo: preparing %d simulated hosts…", *hosts)
	if err := demoPolicy(ctx, admin, *speed); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	simDone, err := sim.Run(ctx, sim.Config{Server: url, Token: login.Token, Hosts: *hosts, FailRate: *failRate, Interval: *interval, Logger: log})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The release freezes what the assessment found approved: wait until
	// it has assessed every host.
	want := 0
	for i := range *hosts {
		if !sim.PatchedByHand(i) {
			want++
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		fs, err := admin.AllFindings(ctx, patchwave.FindingFilter{Package: "openssh-server"})
		if err == nil && len(fs) >= want {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("demo: the assessment did not cover the fleet in time (%d of %d hosts): %v", len(fs), want, err)
		}
	}
	var rel client.Release
	for deadline := time.Now().Add(time.Minute); ; {
		rel, err = admin.CreateRelease(ctx, client.ReleaseRequest{OutOfBand: true, Compressed: new(bool), AllowNoWindow: true,
			Reason: "demo: OpenSSL, OpenSSH, curl, expat and sudo fixes"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("demo: create the release: %w", err)
		}
		time.Sleep(time.Second)
	}
	say("Patchwave demo running at %s — sign in as admin with password %s", url, password)
	say("Release %s is rolling out over %d hosts; its page: %s/releases/%s", rel.Name, *hosts, url, rel.Name)
	say("From a shell: PATCHWAVE_SERVER=%s PATCHWAVE_TOKEN=%s patchwave rollouts show %s", url, login.Token, rel.Name)
	say("The mission-critical wave waits for your approval: patchwave approvals approve %s --wave 4 --stage start --reason ok", rel.Name)
	<-simDone
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("demo: %w", err)
	}
	say("Patchwave demo stopped; its data stays in %s.", *dataDir)
	return nil
}

// demoPolicy loads the demo's advisories, KEV entry, baseline and waves.
func demoPolicy(ctx context.Context, c *client.Client, speed float64) error {
	published := time.Now().UTC().Add(-72 * time.Hour).Format(time.RFC3339)
	cves := map[string]string{"openssl": "CVE-2024-5535", "openssh-server": "CVE-2024-6387", "curl": "CVE-2024-7264", "libexpat1": "CVE-2024-45490", "sudo": "CVE-2023-42465"}
	scores := map[string]string{"openssh-server": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "openssl": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H"}
	n := 0
	for _, v := range sim.Vulnerable {
		if v.Name == "libssl3" {
			continue // from source openssl
		}
		n++
		score := scores[v.Name]
		if score == "" {
			score = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L"
		}
		var affected []map[string]any
		for _, eco := range []string{"Debian:12", "Ubuntu:22.04:LTS"} {
			affected = append(affected, map[string]any{"package": map[string]string{"ecosystem": eco, "name": v.Name},
				"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]string{"introduced": "0"}, map[string]string{"fixed": v.Fixed}}}}})
		}
		rec, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("DSA-99%02d-1", n), "modified": published, "published": published,
			"summary": v.Name + " security update", "aliases": []string{cves[v.Name]},
			"severity": []any{map[string]string{"type": "CVSS_V3", "score": score}}, "affected": affected})
		if _, err := c.ImportFeed(ctx, "demo-advisories", "osv", strings.NewReader(string(rec))); err != nil {
			return fmt.Errorf("import advisory for %s: %w", v.Name, err)
		}
	}
	day := time.Now().UTC().Format("2006-01-02")
	due := time.Now().UTC().Add(14 * 24 * time.Hour).Format("2006-01-02")
	kev := fmt.Sprintf(`{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"%s","dateReleased":"%sT00:00:00.000Z","count":1,
	 "vulnerabilities":[{"cveID":"CVE-2024-6387","vendorProject":"OpenBSD","product":"OpenSSH","vulnerabilityName":"OpenSSH Signal Handler Race Condition",
	 "dateAdded":"%s","shortDescription":"A race condition in sshd's signal handler.","requiredAction":"Apply updates per vendor instructions.",
	 "dueDate":"%s","knownRansomwareCampaignUse":"Unknown","notes":""}]}`, day, day, day, due)
	if _, err := c.ImportFeed(ctx, "demo-kev", "kev", strings.NewReader(kev)); err != nil {
		return fmt.Errorf("import the KEV entry: %w", err)
	}
	if _, err := c.PutBaseline(ctx, json.RawMessage(`{"name":"security","description":"every security fix, at once (demo)","rules":[{"min_severity":"low"}]}`), ""); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	var waves []plan.WaveJSON
	if err := json.Unmarshal([]byte(demoWaves), &waves); err != nil {
		return err
	}
	for i := range waves {
		for _, d := range []*string{&waves[i].StartOffset, &waves[i].Soak} {
			v, err := plan.ParseDuration("demo wave", *d)
			if err != nil {
				return err
			}
			*d = plan.FormatDuration(time.Duration(float64(v) / speed).Round(time.Millisecond))
		}
	}
	if _, err := c.PutWaves(ctx, waves); err != nil {
		return fmt.Errorf("waves: %w", err)
	}
	return nil
}

// demoWaves run a release in minutes rather than weeks.
const demoWaves = `[
 {"order":0,"name":"lab","selector":"tier=lab","max_concurrent_pct":100,"max_errors_pct":50,"soak":"20s","gate_success_pct":50,"gate_min_hosts":1,"deadline":"30m"},
 {"order":1,"name":"pilot","selector":"tag=pilot","start_offset":"30s","max_concurrent":3,"max_errors_pct":40,"soak":"20s","gate_success_pct":60,"gate_min_hosts":1,"deadline":"30m"},
 {"order":2,"name":"early","selector":"tier=business-operational","start_offset":"1m","max_concurrent_pct":50,"max_errors_pct":30,"soak":"20s","gate_success_pct":70,"gate_min_hosts":1,"deadline":"30m"},
 {"order":3,"name":"broad","selector":"tier=business-critical","start_offset":"90s","max_concurrent_pct":50,"max_errors_pct":30,"soak":"20s","gate_success_pct":70,"gate_min_hosts":1,"deadline":"30m"},
 {"order":4,"name":"mission-critical","start_offset":"2m","max_concurrent":2,"max_errors":2,"gate_success_pct":80,"gate_min_hosts":1,"start_approvers":["admin"],"deadline":"30m"}
]`
