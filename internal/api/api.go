// Package api serves Patchwave's JSON API under /api/v1 (people, scripts
// and the CLI) and /api/v1/agent (agents), and describes it in an OpenAPI 3
// document built from the same route table.
package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/auth"
	"github.com/patchwave/patchwave/internal/store"
)

// Request body limits. Agent reports may be large (a full package list) and
// are usually compressed; everything else is small.
const (
	MaxBody      = 1 << 20  // people's requests
	MaxImport    = 8 << 20  // CSV imports
	MaxAgentBody = 64 << 20 // agent reports, after decompression
)

// SessionCookie is the web UI's session cookie; the API accepts it too, for
// requests from the browser.
const SessionCookie = "patchwave_session"

// API is the HTTP API.
type API struct {
	store           *store.Store
	log             *slog.Logger
	checkinInterval time.Duration
	seen            *Seen
	metrics         *Metrics
	mux             *http.ServeMux
	routes          []route
	csrf            *http.CrossOriginProtection
	feeds           Feeds
	onInventory     func(hostID int64)
	policyChanged   PolicyChanged
	location        *time.Location
	onRollout       func()
	taskKey         ed25519.PrivateKey
	waiters         *Waiters
	agentWait       int
	limits          *Limits
}

// Config configures an API.
type Config struct {
	Store           *store.Store
	Logger          *slog.Logger
	CheckinInterval time.Duration // told to agents
	Seen            *Seen         // where check-ins are recorded
	Metrics         *Metrics
	Feeds           Feeds              // feed synchronisation and import; nil when unavailable
	OnInventory     func(hostID int64) // called after a host's facts or packages changed
	PolicyChanged   PolicyChanged      // called after the policy changed
	Location        *time.Location     // the organisation's time zone, for cycle deadlines
	RolloutChanged  func()             // called after a release, a rollout or a task result changed
	// TaskKey signs the tasks handed to agents; its public half goes to
	// agents at enrollment.
	TaskKey ed25519.PrivateKey
	// Limits throttles failed sign-ins and enrollments (nil: none).
	Limits *Limits
	// Waiters holds agents' long polls; AgentWait is how long agents are
	// told to wait in one (0: no long polls).
	Waiters   *Waiters
	AgentWait time.Duration
}

// New returns the API over cfg.Store.
func New(cfg Config) *API {
	a := &API{store: cfg.Store, log: cfg.Logger, checkinInterval: cfg.CheckinInterval, seen: cfg.Seen,
		metrics: cfg.Metrics, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(), feeds: cfg.Feeds, onInventory: cfg.OnInventory,
		policyChanged: cfg.PolicyChanged, location: cfg.Location, onRollout: cfg.RolloutChanged, taskKey: cfg.TaskKey, waiters: cfg.Waiters,
		agentWait: int(cfg.AgentWait / time.Second), limits: cfg.Limits}
	if a.location == nil {
		a.location = time.UTC
	}
	if a.checkinInterval <= 0 {
		a.checkinInterval = time.Hour
	}
	if a.metrics == nil {
		a.metrics = NewMetrics()
	}
	a.routes = a.table()
	for _, rt := range a.routes {
		a.mux.Handle(rt.method+" "+rt.path, a.handle(rt))
	}
	a.mux.Handle("/api/", a.handle(route{auth: authNone, h: func(w http.ResponseWriter, r *http.Request) error {
		return patchwave.Errorf(patchwave.ENotFound, "no such API endpoint: %s %s", r.Method, r.URL.Path)
	}}))
	return a
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

type authKind int

const (
	authNone  authKind = iota // anyone
	authUser                  // a user's token or web session
	authAgent                 // an agent credential
)

type ctxKey int

const (
	keyUser ctxKey = iota
	keyAgent
)

// user returns the authenticated user of a request.
func user(r *http.Request) patchwave.User {
	u, _ := r.Context().Value(keyUser).(patchwave.User)
	return u
}

func agent(r *http.Request) store.AgentState {
	a, _ := r.Context().Value(keyAgent).(store.AgentState)
	return a
}

// statusWriter remembers the status for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// handle adapts an error-returning handler: it authenticates, limits the
// body, and turns errors into JSON answers with the right status.
func (a *API) handle(rt route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r, err := a.authorize(rt, r)
		if err == nil {
			err = rt.h(w, r)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
		a.metrics.request(rt.method+" "+rt.path, w.status, time.Since(start))
	})
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := patchwave.ErrorCode(err)
	msg := patchwave.ErrorMessage(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, msg = patchwave.ETooLarge, fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)
	}
	if code == patchwave.EInternal {
		id := requestID()
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		msg = "internal error (request id " + id + ")"
	}
	writeJSON(w, Status(code), struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
}

// Status maps an error code to its HTTP status.
func Status(code string) int { return patchwave.HTTPStatus(code) }

func requestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decode reads a JSON body of at most max bytes (after decompression)
// into v, refusing unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return strictJSON(b, v)
}

// readBody reads a JSON request body of at most limit bytes (after gzip
// decompression) and checks it is valid UTF-8 without lone surrogate
// escapes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if enc := r.Header.Get("Content-Encoding"); enc != "" {
		if enc != "gzip" {
			return nil, patchwave.Errorf(patchwave.EInvalid, "unsupported Content-Encoding %q (want gzip)", enc)
		}
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, patchwave.Errorf(patchwave.EInvalid, "request body is not valid gzip: %v", err)
		}
		defer zr.Close()
		body = &limitedReader{r: zr, n: limit}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, patchwave.Errorf(patchwave.EInvalid, "Content-Type is %q, want application/json", ct)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errTooLarge) {
			return nil, patchwave.Errorf(patchwave.ETooLarge, "request body is larger than the limit of %d bytes", limit)
		}
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, patchwave.Errorf(patchwave.EInvalid, "request body is not valid gzip: %v", err)
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(b) == 0 {
		return nil, patchwave.Errorf(patchwave.EInvalid, "request body is empty: want a JSON object")
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD and
	// store names no package manager knows: refuse it instead.
	if !utf8.Valid(b) {
		i := invalidUTF8(b)
		return nil, patchwave.Errorf(patchwave.EInvalid, "request body is not valid UTF-8 at byte %d (near %q)", i, b[max(0, i-20):min(len(b), i+4)])
	}
	if err := checkSurrogates(b); err != nil { // likewise for "\ud800"
		return nil, err
	}
	return b, nil
}

// strictJSON decodes one JSON value from b into v, refusing unknown fields
// and trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "request body is not valid: %v", err)
	}
	if dec.More() {
		return patchwave.Errorf(patchwave.EInvalid, "request body has data after the JSON object")
	}
	return nil
}

// invalidUTF8 returns the offset of the first invalid UTF-8 sequence in b.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

var errTooLarge = errors.New("decompressed body too large")

// limitedReader fails, rather than truncating, past n bytes.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, patchwave.Errorf(patchwave.EInvalid, "query parameter %s=%q is not a non-negative integer", name, s)
	}
	return v, nil
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Authenticate returns the user of a request's API token or web session.
func (a *API) Authenticate(r *http.Request) (patchwave.User, error) {
	if tok := bearer(r); tok != "" {
		u, _, err := a.store.UserByToken(r.Context(), auth.HashToken(tok), store.KindAPI)
		return u, err
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		// A browser request: refuse it when it comes from another origin.
		if err := a.csrf.Check(r); err != nil {
			return patchwave.User{}, patchwave.Errorf(patchwave.EForbidden, "cross-origin request refused")
		}
		u, _, err := a.store.UserByToken(r.Context(), auth.HashToken(c.Value), store.KindWeb)
		return u, err
	}
	return patchwave.User{}, patchwave.Errorf(patchwave.EUnauthorized, "authentication required: send Authorization: Bearer <token> (see patchwave login)")
}

// authorize authenticates a request as the route requires and returns it
// with the user or agent in its context.
func (a *API) authorize(rt route, r *http.Request) (*http.Request, error) {
	switch rt.auth {
	case authUser:
		u, err := a.Authenticate(r)
		if err != nil {
			return r, err
		}
		return r.WithContext(context.WithValue(r.Context(), keyUser, u)), nil
	case authAgent:
		tok := bearer(r)
		if tok == "" {
			return r, patchwave.Errorf(patchwave.EUnauthorized, "agent credential required")
		}
		st, err := a.store.AgentByCredential(r.Context(), auth.HashToken(tok))
		if err != nil {
			return r, err
		}
		return r.WithContext(context.WithValue(r.Context(), keyAgent, st)), nil
	}
	return r, nil
}
