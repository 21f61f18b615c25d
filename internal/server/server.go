// Package server is the composition root of `patchwave server`: it opens
// the store, migrates it, builds the API and the web UI, runs the
// background loops and stops them cleanly.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/api"
	"github.com/patchwave/patchwave/internal/auth"
	"github.com/patchwave/patchwave/internal/notify"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/sched"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/tlsca"
	"github.com/patchwave/patchwave/internal/web"
)

// Config is what `patchwave server` is told.
type Config struct {
	// Listen is the address to serve on.
	Listen string
	// DataDir holds the embedded SQLite database when Database is empty.
	DataDir string
	// Database is a postgres:// URL, or empty for SQLite in DataDir.
	Database string
	// AdminPassword is the first admin's password; generated and logged once when empty.
	AdminPassword string
	// TLSCert and TLSKey are PEM files; without them the server speaks plain HTTP.
	TLSCert, TLSKey string
	// TLSAuto makes the server its own certificate authority: on the
	// first start it creates a CA and a server certificate for TLSHosts
	// under DataDir/tls (made again before it expires), and logs the
	// CA's fingerprint for agents to pin.
	TLSAuto  bool
	TLSHosts []string
	// CheckinInterval is how often agents are told to check in.
	CheckinInterval time.Duration
	// StaleAfter is how long a host may go unseen before it is stale.
	StaleAfter time.Duration
	// FlushInterval is how often recorded check-ins are written.
	FlushInterval time.Duration
	// NoFeedSync turns off scheduled feed synchronisation (imports and
	// explicit syncs still work).
	NoFeedSync bool
	// RolloutInterval is how often the rollout driver looks at running
	// releases (it also acts at once on approvals, resumes and results);
	// NoRollouts turns it off on this replica.
	RolloutInterval time.Duration
	NoRollouts      bool
	// AgentWait is how long agents long-poll for tasks between check-ins
	// (0: they do not).
	AgentWait time.Duration
	// Location is the organisation's time zone, in which release cycles
	// and exclusion deadlines fall; nil means UTC.
	Location *time.Location
}

// Defaults fills the zero fields of c.
func (c *Config) Defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DataDir == "" && c.Database == "" {
		c.DataDir = "data"
	}
	if c.CheckinInterval == 0 {
		c.CheckinInterval = time.Hour
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 3 * 24 * time.Hour
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
}

// Validate checks c after Defaults.
func (c *Config) Validate() error {
	if c.TLSAuto && c.TLSCert != "" {
		return errors.New("give either --tls-auto or --tls-cert and --tls-key, not both")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("config: --tls-cert and --tls-key go together")
	}
	if c.CheckinInterval < time.Second {
		return fmt.Errorf("config: checkin interval %s is under one second", c.CheckinInterval)
	}
	if c.StaleAfter < c.CheckinInterval {
		return fmt.Errorf("config: stale-after %s is shorter than the checkin interval %s", c.StaleAfter, c.CheckinInterval)
	}
	if c.AgentWait < 0 || c.AgentWait > patchwave.MaxWait*time.Second {
		return fmt.Errorf("config: agent wait %s: want 0 to %ds", c.AgentWait, patchwave.MaxWait)
	}
	if c.RolloutInterval != 0 && c.RolloutInterval < 100*time.Millisecond {
		return fmt.Errorf("config: rollout interval %s is under 100ms", c.RolloutInterval)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("config: listen address %q: %w", c.Listen, err)
	}
	return nil
}

// Server is a running Patchwave server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	api     *api.API
	seen    *api.Seen
	metrics *api.Metrics
	handler http.Handler

	assessor   *assessor
	driver     *sched.Driver
	follow     *sched.Follow
	outbox     *notify.Worker
	waiters    *api.Waiters
	limits     *api.Limits
	httpClient *http.Client

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New opens and migrates the database, makes sure an admin exists, and
// starts the background loops. Close stops them.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dsn := cfg.Database
	if dsn == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		dsn = filepath.Join(cfg.DataDir, "patchwave.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	st.SetStaleAfter(cfg.StaleAfter)
	if err := firstAdmin(ctx, st, cfg.AdminPassword, log); err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: st, seen: api.NewSeen(), metrics: api.NewMetrics(),
		httpClient: &http.Client{Timeout: 30 * time.Minute}}
	s.assessor = newAssessor(s)
	taskKey, err := api.LoadTaskKey(ctx, st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("task-signing key: %w", err)
	}
	s.waiters = api.NewWaiters(st)
	s.driver = sched.NewDriver(st, log)
	s.driver.OnArmed = s.waiters.Wake
	s.driver.Windows = func(ctx context.Context) ([]plan.Window, error) { return api.LoadWindowPlans(ctx, st) }
	s.driver.Exceptions = func(ctx context.Context) ([]patchwave.Exception, error) { return api.LoadExceptions(ctx, st) }
	if cfg.RolloutInterval > 0 {
		s.driver.Interval = cfg.RolloutInterval
	}
	s.limits = api.NewLimits()
	s.limits.Log = log
	s.api = api.New(api.Config{Store: st, Logger: log, Limits: s.limits, CheckinInterval: cfg.CheckinInterval, Seen: s.seen, Metrics: s.metrics,
		Feeds: feeds{s}, OnInventory: s.assessor.hostChanged, PolicyChanged: s.assessor.requestAll, RolloutChanged: s.driver.Wake,
		Location: cfg.Location, TaskKey: taskKey, Waiters: s.waiters, AgentWait: cfg.AgentWait})
	s.handler = s.routes()
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	s.wg.Go(func() { s.flushLoop(loopCtx) })
	s.wg.Go(func() { s.assessor.run(loopCtx) })
	s.wg.Go(func() { s.policyClock(loopCtx) })
	s.wg.Go(func() { s.snapshotLoop(loopCtx) })
	if !cfg.NoRollouts {
		s.wg.Go(func() { s.driver.Run(loopCtx) })
	}
	// Tickets follow failed tasks, and notices leave through the outbox,
	// on every replica: unique keys and leases keep them from doubling.
	s.follow = sched.NewFollow(st, log)
	s.outbox = notify.NewWorker(st, log)
	s.wg.Go(func() { s.follow.Run(loopCtx) })
	s.wg.Go(func() { s.outbox.Run(loopCtx) })
	if cfg.AgentWait > 0 {
		s.wg.Go(func() { s.waiters.Run(loopCtx, time.Second) })
	}
	if !cfg.NoFeedSync {
		s.wg.Go(func() { s.feedLoop(loopCtx) })
	}
	return s, nil
}

// firstAdmin creates the admin user on an empty database.
func firstAdmin(ctx context.Context, st *store.Store, password string, log *slog.Logger) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	generated := password == ""
	if generated {
		password = auth.RandomPassword()
	} else if err := auth.CheckPasswordRules(password); err != nil {
		return fmt.Errorf("PATCHWAVE_ADMIN_PASSWORD: %w", err)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	err = st.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateUser(patchwave.User{Name: "admin", Role: patchwave.RoleAdmin}, hash); err != nil {
			return err
		}
		return tx.Audit("patchwave", "user.create", "user:admin", map[string]any{"role": "admin", "first_start": true})
	})
	if patchwave.ErrorCode(err) == patchwave.EConflict {
		return nil // another replica made it first
	}
	if err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	if generated {
		// Printed once, on the first start only: it is not stored anywhere.
		log.Warn("created user admin with a generated password; change it with patchwave users set admin --password-stdin",
			"user", "admin", "password", password)
	} else {
		log.Info("created user admin with the password from PATCHWAVE_ADMIN_PASSWORD")
	}
	return nil
}

// Follow returns the server's ticket loop, for tests.
func (s *Server) Follow() *sched.Follow { return s.follow }

// Outbox returns the server's notification worker, for tests.
func (s *Server) Outbox() *notify.Worker { return s.outbox }

// Driver returns the server's rollout driver, for tests and benchmarks.
func (s *Server) Driver() *sched.Driver { return s.driver }

// Store returns the server's store, for tests and benchmarks.
func (s *Server) Store() *store.Store { return s.store }

// Handler returns the server's HTTP handler: API, web UI and probes.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", s.api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if err := s.store.Ping(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "database unavailable")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", s.metrics.Handler(s.gauges))
	mux.Handle("/", web.New(backend{s}, s.log, s.cfg.TLSCert != "" || s.cfg.TLSAuto))
	return mux
}

func (s *Server) gauges() []api.Gauge {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var gs []api.Gauge
	if n, err := s.store.CountHosts(ctx, patchwave.HostFilter{}); err == nil {
		gs = append(gs, api.Gauge{Name: "patchwave_hosts", Help: "Known hosts.", Value: float64(n)})
	}
	stale := true
	if n, err := s.store.CountHosts(ctx, patchwave.HostFilter{Stale: &stale}); err == nil {
		gs = append(gs, api.Gauge{Name: "patchwave_hosts_stale", Help: "Managed hosts not seen within stale-after.", Value: float64(n)})
	}
	if n, err := s.store.CountPackageSets(ctx); err == nil {
		gs = append(gs, api.Gauge{Name: "patchwave_package_sets", Help: "Distinct package sets stored.", Value: float64(n)})
	}
	now := time.Now()
	if fs, err := s.store.Feeds(ctx); err == nil {
		for _, f := range fs {
			age := -1.0 // never imported
			if f.LastSuccess != nil {
				age = now.Sub(*f.LastSuccess).Seconds()
			}
			gs = append(gs, api.Gauge{Name: "patchwave_feed_age_seconds", Help: "Time since each feed's last successful import (-1: never).",
				Labels: []string{"feed", f.Name, "kind", f.Kind}, Value: age})
		}
		for _, f := range fs {
			gs = append(gs, api.Gauge{Name: "patchwave_feed_records", Help: "Records each feed's last import held.",
				Labels: []string{"feed", f.Name}, Value: float64(f.Records)})
		}
	}
	if cs, err := s.store.LiveTaskCounts(ctx); err == nil {
		for _, c := range cs {
			gs = append(gs, api.Gauge{Name: "patchwave_rollout_tasks", Help: "Install tasks of the rollouts not over, by release, wave and state.",
				Labels: []string{"release", c.Release, "wave", strconv.Itoa(c.Wave), "state", string(c.State)}, Value: float64(c.Count)})
		}
	}
	if cs, err := s.store.OutboxCounts(ctx); err == nil {
		for _, c := range cs {
			gs = append(gs, api.Gauge{Name: "patchwave_outbox_notices", Help: "Notices in the outbox, by channel and state (pending is the backlog).",
				Labels: []string{"channel", c.Channel, "state", c.State}, Value: float64(c.Count)})
		}
	}
	st := s.driver.Stats()
	leader := 0.0
	if st.Leader {
		leader = 1
	}
	gs = append(gs,
		api.Gauge{Name: "patchwave_rollout_driver_leader", Help: "1 when this replica holds the rollout driver's lease.", Value: leader},
		api.Gauge{Name: "patchwave_rollout_driver_tick_seconds", Help: "How long the rollout driver's last tick took.", Value: st.LastTick.Seconds()},
		api.Gauge{Name: "patchwave_rollout_driver_tick_errors", Help: "Rollout driver ticks that failed since the start.", Value: float64(st.TickErrors)},
		api.Gauge{Name: "patchwave_assessment_seconds", Help: "How long the last assessment round took.", Value: time.Duration(s.assessor.lastRun.Load()).Seconds()},
		api.Gauge{Name: "patchwave_assessment_failures", Help: "Assessment rounds that failed since the start.", Value: float64(s.assessor.failures.Load())},
	)
	if !st.LastTickAt.IsZero() {
		gs = append(gs, api.Gauge{Name: "patchwave_rollout_driver_last_tick_age_seconds", Help: "Time since the rollout driver's last tick ended.", Value: now.Sub(st.LastTickAt).Seconds()})
	}
	return gs
}

// flushLoop writes recorded check-ins every FlushInterval, and once more on
// stop; hourly it prunes package sets no host uses.
func (s *Server) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Flush(context.Background())
			return
		case <-t.C:
			s.Flush(ctx)
		case <-prune.C:
			// SLA states move with the clock and exceptions expire: judge
			// every finding again (only changed rows are written).
			s.assessor.requestAll()
			// Package sets no host uses any more; the hour of grace covers a
			// set stored by one request and claimed by another.
			if n, err := s.store.PrunePackageSets(ctx, time.Now().Add(-time.Hour)); err != nil {
				s.log.Warn("prune package sets", "err", err)
			} else if n > 0 {
				s.log.Info("pruned unused package sets", "count", n)
			}
		}
	}
}

// Flush writes the check-ins recorded so far.
func (s *Server) Flush(ctx context.Context) {
	m := s.seen.Take()
	if err := s.store.TouchHosts(ctx, m); err != nil {
		s.seen.Putback(m)
		s.log.Warn("record check-ins", "hosts", len(m), "err", err)
	}
}

// Close stops the loops, writes what they hold, and closes the store.
func (s *Server) Close() error {
	s.stop()
	s.wg.Wait()
	return s.store.Close()
}

// listenHost is the host part of a listen address.
func listenHost(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}

// defaultTLSHosts are the names of the server's own certificate when
// none are given: this machine's name, localhost, the loopback
// addresses, and the listen address when it names one.
func defaultTLSHosts(listen string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append([]string{name}, hosts...)
	}
	if h := listenHost(listen); h != "" && h != "0.0.0.0" && h != "::" && !slices.Contains(hosts, h) {
		hosts = append(hosts, h)
	}
	return hosts
}

// ListenAndServe serves until ctx is done, then shuts down gracefully.
// ready, when not nil, receives the address once the server listens.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	switch {
	case s.cfg.TLSAuto:
		hosts := s.cfg.TLSHosts
		if len(hosts) == 0 {
			hosts = defaultTLSHosts(s.cfg.Listen)
		}
		cert, fp, err := tlsca.Ensure(filepath.Join(s.cfg.DataDir, "tls"), hosts, time.Now())
		if err != nil {
			ln.Close()
			return err
		}
		s.log.Info("serving TLS with the server's own CA: agents enroll with --ca-fingerprint "+fp, "ca", filepath.Join(s.cfg.DataDir, "tls", tlsca.CAFile), "hosts", strings.Join(hosts, ","))
		hs.TLSConfig = tlsca.ServerConfig(cert)
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	case s.cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("tls: %w", err)
		}
		hs.TLSConfig = tlsca.ServerConfig(cert)
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	case !isLoopback(listenHost(s.cfg.Listen)):
		s.log.Warn("serving plain HTTP on a non-loopback address: agent credentials and passwords cross the network in clear; use --tls-auto, or --tls-cert and --tls-key", "listen", s.cfg.Listen)
	}
	addr := scheme + "://" + ln.Addr().String()
	s.log.Info("patchwave server listening", "url", addr, "database", string(s.store.Dialect()))
	if ready != nil {
		ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// backend gives the web UI what it needs from the store and auth.
type backend struct{ s *Server }

// SessionTTL is how long a web session lasts.
const SessionTTL = 12 * time.Hour

func (b backend) Login(ctx context.Context, name, password, client string) (string, patchwave.User, error) {
	u, err := api.CheckLogin(ctx, b.s.store, b.s.limits, name, password, client)
	if err != nil {
		return "", u, err
	}
	tok, hash := auth.NewToken(auth.PrefixWeb)
	exp := b.s.store.Now().Add(SessionTTL)
	err = b.s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateToken(u.ID, store.KindWeb, "web session", auth.Display(tok), hash, &exp); err != nil {
			return err
		}
		return tx.Audit(u.Name, "user.login", "user:"+u.Name, map[string]string{"via": "web"})
	})
	return tok, u, err
}

func (b backend) Session(ctx context.Context, token string) (patchwave.User, error) {
	u, _, err := b.s.store.UserByToken(ctx, auth.HashToken(token), store.KindWeb)
	return u, err
}

// Logout ends a web session and records it in the audit trail. A session
// that had already ended is revoked all the same, with nobody to record.
func (b backend) Logout(ctx context.Context, token string) error {
	hash := auth.HashToken(token)
	u, id, err := b.s.store.UserByToken(ctx, hash, store.KindWeb)
	if err != nil {
		if rerr := b.s.store.RevokeTokenByHash(ctx, hash); rerr != nil {
			return rerr
		}
		return err
	}
	return b.s.store.Write(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeToken(id, u.ID, store.KindWeb); err != nil {
			return err
		}
		return tx.Audit(u.Name, "user.logout", "user:"+u.Name, map[string]string{"via": "web"})
	})
}

func (b backend) ListHosts(ctx context.Context, f patchwave.HostFilter) ([]patchwave.Host, int64, error) {
	return b.s.store.ListHosts(ctx, f)
}

func (b backend) Host(ctx context.Context, key string) (patchwave.Host, error) {
	return b.s.store.Host(ctx, key)
}

func (b backend) HostPackages(ctx context.Context, id int64) ([]patchwave.Package, error) {
	return b.s.store.HostPackages(ctx, id)
}

// UpdateHost makes the web UI's host change through the API's, so that
// both authorise it and audit it the same way.
func (b backend) UpdateHost(ctx context.Context, u patchwave.User, key string, upd patchwave.HostUpdate) (patchwave.Host, error) {
	return b.s.api.UpdateHost(ctx, u, key, upd)
}

func (b backend) Facets(ctx context.Context) ([]string, []string, error) {
	return b.s.store.Facets(ctx)
}

// WaitAssessed returns once every requested assessment has been stored.
func (s *Server) WaitAssessed(ctx context.Context) error { return s.assessor.wait(ctx) }

func (b backend) Findings(ctx context.Context, f patchwave.FindingFilter) ([]patchwave.Finding, int64, error) {
	fs, next, err := b.s.store.ListFindings(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	return b.withKEV(ctx, fs), next, nil
}

func (b backend) HostFindings(ctx context.Context, hostID int64) ([]patchwave.Finding, error) {
	f := patchwave.FindingFilter{Host: strconv.FormatInt(hostID, 10), Limit: 1000}
	var all []patchwave.Finding
	for {
		fs, next, err := b.s.store.ListFindings(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, fs...)
		if next == 0 {
			return b.withKEV(ctx, all), nil
		}
		f.After = next
	}
}

func (b backend) Advisory(ctx context.Context, id string) (patchwave.Advisory, []patchwave.Finding, error) {
	var adv patchwave.Advisory
	bodies, err := b.s.store.AdvisoriesByID(ctx, []string{id})
	if err != nil {
		return adv, nil, err
	}
	body, ok := bodies[id]
	if !ok {
		return adv, nil, patchwave.Errorf(patchwave.ENotFound, "advisory %q not found", id)
	}
	if err := json.Unmarshal(body, &adv); err != nil {
		return adv, nil, fmt.Errorf("advisory %s: %w", id, err)
	}
	fs, _, err := b.s.store.ListFindings(ctx, patchwave.FindingFilter{Advisory: id, Limit: 1000})
	return adv, b.withKEV(ctx, fs), err
}

func (b backend) Feeds(ctx context.Context) ([]patchwave.Feed, error) { return b.s.store.Feeds(ctx) }

// withKEV fills in the catalogue entries of known exploited findings.
func (b backend) withKEV(ctx context.Context, fs []patchwave.Finding) []patchwave.Finding {
	_ = b.s.store.FillKEV(ctx, fs)
	return fs
}

// Reassess judges every host again now and waits until it is stored.
func (s *Server) Reassess(ctx context.Context) error {
	s.assessor.requestAll()
	return s.assessor.wait(ctx)
}

func (b backend) SLA(ctx context.Context) (patchwave.SLAPolicy, error) {
	return api.LoadSLA(ctx, b.s.store)
}

func (b backend) Baselines(ctx context.Context) ([]patchwave.Baseline, error) {
	return api.LoadBaselines(ctx, b.s.store)
}

func (b backend) Exceptions(ctx context.Context) ([]patchwave.Exception, error) {
	return api.LoadExceptions(ctx, b.s.store)
}

func (b backend) ServiceBaselines(ctx context.Context) ([]patchwave.ServiceBaseline, error) {
	return api.LoadServiceBaselines(ctx, b.s.store)
}
