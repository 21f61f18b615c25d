package cli

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// syncBuffer is a bytes buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs the demo quickly: the simulated fleet enrolls and is
// assessed, the release rolls out, the waves before the mission-critical
// one finish (some hosts failing and then retried by nobody: counted), and
// the mission-critical wave waits for admin's approval.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server for several seconds")
	}
	var out, errs syncBuffer
	e := env{stdout: &out, stderr: &errs, getenv: func(k string) string {
		if k == "PATCHWAVE_ADMIN_PASSWORD" {
			return "demo-password"
		}
		return ""
	}, configDir: func() (string, error) { return t.TempDir(), nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	dir := filepath.Join(t.TempDir(), "demo")
	go func() {
		done <- run(ctx, e, []string{"demo", "--listen", "127.0.0.1:0", "--data-dir", dir, "--hosts", "24", "--interval", "300ms", "--speed", "20", "--fail-rate", "0.1"})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exit %d: %s", code, errs.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	}()
	re := regexp.MustCompile(`running at (http://\S+) .*\nRelease (\S+) is rolling out`)
	var m []string
	for deadline := time.Now().Add(60 * time.Second); m == nil; time.Sleep(100 * time.Millisecond) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("demo exited %d:\n%s\n%s", code, out.String(), errs.String())
		default:
		}
		if m = re.FindStringSubmatch(out.String()); m == nil && time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s\n%s", out.String(), errs.String())
		}
	}
	c := client.New(m[1], "")
	login, err := c.Login(ctx, "admin", "demo-password")
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(login.Token)
	hosts, err := c.AllHosts(ctx, patchwave.HostFilter{})
	if err != nil || len(hosts) != 24 {
		t.Fatalf("hosts: %d %v", len(hosts), err)
	}
	var ro client.Rollout
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ro, err = c.Rollout(ctx, m[2])
		if err == nil && len(ro.Waves) == 5 && ro.Waves[3].State != patchwave.WaveWaiting && ro.Waves[3].State != patchwave.WaveRunning &&
			ro.Waves[4].Note != "" && strings.Contains(ro.Waves[4].Note, "approv") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout did not reach the mission-critical wave: %+v %v", ro.Waves, err)
		}
	}
	done0 := 0
	for _, w := range ro.Waves[:4] {
		done0 += w.Done
	}
	if done0 < 10 {
		t.Errorf("only %d hosts done in the first four waves: %+v", done0, ro.Waves)
	}
	// The server's metrics tell the same story.
	resp, err := http.Get(m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`patchwave_hosts 24`, `patchwave_feed_age_seconds{feed="demo-advisories",kind="osv"}`,
		`patchwave_rollout_tasks{release="` + m[2] + `",wave="0",state="succeeded"}`, "patchwave_rollout_driver_leader 1",
		"# TYPE patchwave_rollout_driver_tick_seconds gauge", "patchwave_assessment_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if n := strings.Count(string(body), "# TYPE patchwave_rollout_tasks gauge"); n != 1 {
		t.Errorf("patchwave_rollout_tasks declared %d times", n)
	}

	kev := true
	fs, err := c.AllFindings(ctx, patchwave.FindingFilter{KEV: &kev})
	if err != nil || len(fs) == 0 {
		t.Errorf("KEV findings: %d %v", len(fs), err)
	}
}
