package agent_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/agent"
)

// fakeServer answers the agent protocol in memory, so that the agent's
// schedule can run under testing/synctest's fake clock. Each check-in is
// answered by the next function of script, or acknowledged when the script
// is used up.
type fakeServer struct {
	mu       sync.Mutex
	t        *testing.T
	interval int // seconds, in every answer
	enrolls  int
	times    []time.Time
	reqs     []patchwave.CheckinRequest
	script   []func(w http.ResponseWriter, req patchwave.CheckinRequest)
}

// client is an *http.Client whose requests the fake server answers directly.
func (f *fakeServer) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		f.ServeHTTP(w, r)
		return w.Result(), nil
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.t.Errorf("bad gzip body: %v", err)
			return
		}
		body = zr
	}
	switch r.URL.Path {
	case "/api/v1/agent/enroll":
		var req patchwave.EnrollRequest
		if err := json.NewDecoder(body).Decode(&req); err != nil {
			f.t.Errorf("enroll: %v", err)
		}
		if req.Token != "good-token" {
			writeError(w, http.StatusUnauthorized, patchwave.EUnauthorized, "enrollment token is not valid")
			return
		}
		f.enrolls++
		writeJSON(w, patchwave.EnrollResponse{HostID: 42, Credential: "cred-42", CheckinInterval: f.interval})
	case "/api/v1/agent/checkin":
		if r.Header.Get("Authorization") != "Bearer cred-42" {
			writeError(w, http.StatusUnauthorized, patchwave.EUnauthorized, "agent credential is not valid")
			return
		}
		var req patchwave.CheckinRequest
		if err := json.NewDecoder(body).Decode(&req); err != nil {
			f.t.Errorf("checkin: %v", err)
		}
		f.times = append(f.times, time.Now())
		f.reqs = append(f.reqs, req)
		if len(f.script) > 0 {
			step := f.script[0]
			f.script = f.script[1:]
			if step != nil {
				step(w, req)
				return
			}
		}
		ack(w, req, f.interval)
	default:
		writeError(w, http.StatusNotFound, patchwave.ENotFound, "no such path")
	}
}

func ack(w http.ResponseWriter, req patchwave.CheckinRequest, interval int) {
	writeJSON(w, patchwave.CheckinResponse{FactsHash: req.FactsHash, PackagesHash: req.PackagesHash, CheckinInterval: interval})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func failWith(status int, code string, retryAfter int) func(http.ResponseWriter, patchwave.CheckinRequest) {
	return func(w http.ResponseWriter, _ patchwave.CheckinRequest) {
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		writeError(w, status, code, "test says no")
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestRunSchedule runs the agent's loop under a fake clock: check-ins at
// the host's slot, exponential back-off on errors, Retry-After on 429, and
// a stop on a refused credential.
func TestRunSchedule(t *testing.T) {
	root := newFakeRoot(t, "web1", basePackages())
	stateDir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		const iv = time.Hour
		f := &fakeServer{t: t, interval: int(iv / time.Second)}
		f.script = []func(http.ResponseWriter, patchwave.CheckinRequest){
			nil,                                    // 0: acknowledged
			failWith(500, patchwave.EInternal, 0),  // 1
			failWith(500, patchwave.EInternal, 0),  // 2: 10s later
			failWith(429, patchwave.ETooMany, 300), // 3: 20s later
			nil,                                    // 4: Retry-After later
			failWith(401, patchwave.EUnauthorized, 0), // 5: revoked
		}
		start := time.Now()
		err := agent.Run(t.Context(), agent.Config{Server: "http://fake", EnrollToken: "good-token",
			StateDir: stateDir, Root: root.dir, HTTPClient: f.client(), Logger: testLogger(t), Version: "test"})
		if patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Fatalf("Run = %v, want an unauthorized error", err)
		}
		if len(f.times) != 6 {
			t.Fatalf("%d check-ins, want 6", len(f.times))
		}
		if f.enrolls != 1 {
			t.Errorf("%d enrollments, want 1", f.enrolls)
		}
		gap := func(i int) time.Duration { return f.times[i].Sub(f.times[i-1]) }
		if d := f.times[0].Sub(start); d != 0 {
			t.Errorf("first check-in %v after start, want at once after enrolling", d)
		}
		// 1: at the host's slot, within 10% of an interval.
		if d := gap(1); d < iv*4/10 || d > iv*16/10 {
			t.Errorf("second check-in %v after the first, want about an interval", d)
		}
		off := time.Duration(f.times[1].UnixNano()) % iv
		if diff := (off-agent.Splay(42, iv)+iv+iv/2)%iv - iv/2; diff < -iv/10 || diff > iv/10 {
			t.Errorf("second check-in is %v from the host's slot", diff)
		}
		// 2, 3: back-off of 10s then 20s, each less up to a quarter.
		if d := gap(2); d < 7500*time.Millisecond || d > 10*time.Second {
			t.Errorf("retry after one failure came %v later, want 7.5s-10s", d)
		}
		if d := gap(3); d < 15*time.Second || d > 20*time.Second {
			t.Errorf("retry after two failures came %v later, want 15s-20s", d)
		}
		// 4: the server's Retry-After, plus up to 10%.
		if d := gap(4); d < 300*time.Second || d > 330*time.Second {
			t.Errorf("retry after 429 came %v later, want 300s-330s", d)
		}
		// 5: back on schedule.
		if d := gap(5); d < iv*4/10 || d > iv*16/10 {
			t.Errorf("check-in after recovery came %v later, want about an interval", d)
		}
		// What was sent: everything once, then only hashes.
		if f.reqs[0].Facts == nil || f.reqs[0].Packages == nil {
			t.Errorf("first check-in did not report in full: %+v", f.reqs[0])
		}
		for i, r := range f.reqs[1:] {
			if r.Facts != nil || r.Packages != nil || r.Delta != nil {
				t.Errorf("check-in %d sent more than hashes: %+v", i+1, r)
			}
		}
	})
}

// TestRunRestart checks that a restarted agent waits for its slot instead
// of checking in at once, and that cancelling the context stops it cleanly.
func TestRunRestart(t *testing.T) {
	root := newFakeRoot(t, "web1", basePackages())
	stateDir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		const iv = time.Hour
		f := &fakeServer{t: t, interval: int(iv / time.Second)}
		cfg := agent.Config{Server: "http://fake", EnrollToken: "good-token", StateDir: stateDir, Root: root.dir,
			HTTPClient: f.client(), Logger: testLogger(t), Once: true}
		if err := agent.Run(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		// Restart, without the token: the saved credential is enough.
		cfg.Once, cfg.EnrollToken = false, ""
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- agent.Run(ctx, cfg) }()
		synctest.Wait()
		f.mu.Lock()
		n := len(f.times)
		f.mu.Unlock()
		if n != 1 {
			t.Errorf("restarted agent checked in at once (%d check-ins), want it to wait for its slot", n)
		}
		time.Sleep(iv + iv/10)
		synctest.Wait()
		f.mu.Lock()
		n = len(f.times)
		f.mu.Unlock()
		if n != 2 {
			t.Errorf("%d check-ins an interval after the restart, want 2", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	})
}

// TestResendOnNeed checks that when the server asks for a full report (it
// lost the base the delta refers to), the agent sends one in the same run
// and stores the acknowledgement.
func TestResendOnNeed(t *testing.T) {
	root := newFakeRoot(t, "web1", basePackages())
	stateDir := t.TempDir()
	f := &fakeServer{t: t, interval: 3600}
	cfg := agent.Config{Server: "http://fake", EnrollToken: "good-token", StateDir: stateDir, Root: root.dir,
		HTTPClient: f.client(), Logger: testLogger(t)}
	if _, err := agent.CheckinOnce(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	ps := basePackages()
	ps[1].Version = "5.2.15-2+b3"
	root.setPackages(t, ps)
	root.setHostname(t, "web2")
	f.script = []func(http.ResponseWriter, patchwave.CheckinRequest){
		func(w http.ResponseWriter, req patchwave.CheckinRequest) {
			// Facts taken, packages base unknown.
			writeJSON(w, patchwave.CheckinResponse{FactsHash: req.FactsHash, PackagesHash: "", NeedPackages: true})
		},
	}
	rep, err := agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Resent || rep.Packages != agent.SendFull {
		t.Errorf("report = %+v, want a full resend", rep)
	}
	if len(f.reqs) != 3 {
		t.Fatalf("%d check-ins, want 3", len(f.reqs))
	}
	if r := f.reqs[1]; r.Delta == nil || r.Facts == nil || r.Packages != nil {
		t.Errorf("first attempt sent %+v, want facts and a delta", r)
	}
	if r := f.reqs[2]; r.Packages == nil || r.Facts != nil || r.Delta != nil {
		t.Errorf("resend sent %+v, want the full package list only", r)
	}
	// Acknowledged: the next check-in sends only hashes.
	rep, err = agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FactsSent || rep.Packages != agent.SendNone {
		t.Errorf("after the resend: %+v, want only hashes", rep)
	}

	// A server that never acknowledges: the agent gives up after one resend
	// and reports in full next time.
	f.script = []func(http.ResponseWriter, patchwave.CheckinRequest){
		func(w http.ResponseWriter, req patchwave.CheckinRequest) {
			writeJSON(w, patchwave.CheckinResponse{FactsHash: req.FactsHash, NeedPackages: true})
		},
		func(w http.ResponseWriter, req patchwave.CheckinRequest) {
			writeJSON(w, patchwave.CheckinResponse{FactsHash: req.FactsHash, NeedPackages: true})
		},
	}
	if _, err := agent.CheckinOnce(t.Context(), cfg); err == nil {
		t.Error("check-in against a server that never acknowledges succeeded")
	}
	rep, err = agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Packages != agent.SendFull {
		t.Errorf("after an unacknowledged report: %+v, want a full report", rep)
	}
}

func TestEnrollErrors(t *testing.T) {
	root := newFakeRoot(t, "web1", basePackages())
	f := &fakeServer{t: t, interval: 3600}
	cfg := agent.Config{Server: "http://fake", StateDir: t.TempDir(), Root: root.dir, HTTPClient: f.client(),
		Logger: testLogger(t)}

	// Neither a credential nor a token.
	if err := agent.Run(t.Context(), cfg); !errors.Is(err, agent.ErrNotEnrolled) {
		t.Errorf("Run without credential or token = %v, want ErrNotEnrolled", err)
	}
	// A refused token stops the loop at once.
	cfg.EnrollToken = "bad-token"
	err := agent.Run(t.Context(), cfg)
	if patchwave.ErrorCode(err) != patchwave.EUnauthorized {
		t.Errorf("Run with a bad token = %v, want unauthorized", err)
	}
	if _, err := agent.LoadState(cfg.StateDir); err == nil {
		t.Error("a refused enrollment saved a state")
	}
	// A corrupt state file is reported, not silently replaced by a new enrollment.
	cfg.EnrollToken = "good-token"
	root2 := newFakeRoot(t, "x", nil)
	root2.write(t, "state/agent.json", "{not json")
	cfg.StateDir = root2.dir + "/state"
	err = agent.Run(t.Context(), cfg)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("corrupt")) {
		t.Errorf("Run with a corrupt state = %v, want a corrupt-state error", err)
	}
	if f.enrolls != 0 {
		t.Errorf("%d enrollments, want none", f.enrolls)
	}
}
