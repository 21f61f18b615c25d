// Package web is Patchwave's server-rendered user interface: sign-in, the
// host list and the host page with its missing patches and compliance, the
// fleet's findings with their due dates and risk, advisories, the state of
// the advisory feeds, and the patch policy (SLA, baselines, exceptions),
// rendered with html/template from embedded templates and static files.
// The policy page is read-only: SLA and baseline changes go through the
// API and the CLI, which the page names. On the exceptions page approvers
// approve and reject exceptions, and site admins submit exclusions, with
// the same rules as the API. It stores nothing itself; everything it shows
// and does goes through the small Backend interface that the server
// implements over the store, the API's rules and the authentication
// service.
//
// # Security
//
// Sessions live in the HttpOnly, SameSite=Lax cookie named by CookieName
// (Secure when the server runs behind TLS). Cross-site request forgery is
// stopped by the standard library's http.CrossOriginProtection, which wraps
// every route: a non-safe request (POST and the like) that a browser marks as
// cross-site through Sec-Fetch-Site, or whose Origin does not match its Host,
// is refused with 403. Browsers have sent Sec-Fetch-Site since 2023, and
// SameSite=Lax keeps the session cookie off cross-site POSTs anyway, so no
// per-session synchronizer token is needed. GET and HEAD never change state.
// Every answer carries a strict Content-Security-Policy (no inline script or
// style, nothing from other origins), X-Content-Type-Options: nosniff,
// Referrer-Policy: same-origin and X-Frame-Options: DENY.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
	"github.com/patchwave/patchwave/internal/ticket"
)

// Backend is what the web UI needs from the rest of the server.
type Backend interface {
	// Login checks a user's password and starts a web session; it returns the session token.
	// Wrong credentials are a patchwave.EUnauthorized error, whether or not the user exists;
	// repeated failures, of the user name or from the client address, patchwave.ETooMany.
	Login(ctx context.Context, name, password, client string) (token string, u patchwave.User, err error)
	// Session returns the user of a live session token (patchwave.EUnauthorized error when none).
	Session(ctx context.Context, token string) (patchwave.User, error)
	// Logout ends the session of token.
	Logout(ctx context.Context, token string) error
	// ListHosts returns one page of hosts matching f, and the cursor of the
	// next page (f.After), 0 when this page is the last.
	ListHosts(ctx context.Context, f patchwave.HostFilter) (hosts []patchwave.Host, next int64, err error)
	// Host returns the host with the given id or hostname (patchwave.ENotFound when none).
	Host(ctx context.Context, key string) (patchwave.Host, error)
	// HostPackages returns every package installed on a host.
	HostPackages(ctx context.Context, hostID int64) ([]patchwave.Package, error)
	// UpdateHost changes a host's site, tier, owner or tags on behalf of u,
	// with the API's rules (a site admin changes hosts of their sites only,
	// and moves them only to their sites) and its audit event, and returns
	// the host as it is now. A refusal is an error with a patchwave code.
	UpdateHost(ctx context.Context, u patchwave.User, key string, upd patchwave.HostUpdate) (patchwave.Host, error)
	// Facets returns the known sites and tags, for the filter drop-downs.
	Facets(ctx context.Context) (sites, tags []string, err error)
	// Findings returns one page of findings matching f and the cursor of the next page (0 when last).
	Findings(ctx context.Context, f patchwave.FindingFilter) ([]patchwave.Finding, int64, error)
	// HostFindings returns every open finding (missing patch or no fix yet) of a host.
	HostFindings(ctx context.Context, hostID int64) ([]patchwave.Finding, error)
	// Advisory returns an advisory and the findings it causes (patchwave.ENotFound when unknown).
	Advisory(ctx context.Context, id string) (patchwave.Advisory, []patchwave.Finding, error)
	// Feeds returns the advisory feeds and the state of their last synchronisation.
	Feeds(ctx context.Context) ([]patchwave.Feed, error)
	// Releases returns every release, newest first.
	Releases(ctx context.Context) ([]ReleaseView, error)
	// Rollout returns the rollout of the release with the given name or
	// id as u sees it (patchwave.ENotFound when there is none): each
	// wave's progress and plan, the approvals still missing and whether u
	// may give them, whether u may pause and resume it, the latest events.
	Rollout(ctx context.Context, u patchwave.User, name string) (RolloutView, error)
	// Plan returns the part of a release's hosts' plan that q picks.
	Plan(ctx context.Context, name string, q PlanQuery) (PlanView, error)
	// Calendar returns n release cycles from the month from (YYYY-MM; ""
	// for the previous month), with their releases, the change freezes
	// in them, and every maintenance window with its next openings.
	Calendar(ctx context.Context, from string, n int) (CalendarView, error)
	// ApproveWave records u's approval or rejection of a wave's start
	// or promotion, with the API's rules and audit event.
	ApproveWave(ctx context.Context, u patchwave.User, name string, d WaveDecision) error
	// ActOnRollout pauses or resumes (action) a release's rollout on
	// behalf of u, with a reason, with the API's rules and audit event;
	// a resume may retry the failed tasks.
	ActOnRollout(ctx context.Context, u patchwave.User, name, action, reason string, retryFailed bool) error
	// SLA returns the SLA policy in force (the default one when none is stored).
	SLA(ctx context.Context) (patchwave.SLAPolicy, error)
	// Baselines returns every patch approval baseline.
	Baselines(ctx context.Context) ([]patchwave.Baseline, error)
	// Exceptions returns every exception, with its State as of now.
	Exceptions(ctx context.Context) ([]patchwave.Exception, error)
	// ServiceBaselines returns every service baseline.
	ServiceBaselines(ctx context.Context) ([]patchwave.ServiceBaseline, error)
	// CreateException requests exception e on behalf of u, with the API's
	// rules, and returns it as stored and warnings about it. A refusal is
	// an error with a patchwave code (EInvalid, EForbidden, …).
	CreateException(ctx context.Context, u patchwave.User, e patchwave.Exception) (patchwave.Exception, []string, error)
	// DecideException approves, rejects or revokes exception id on behalf
	// of u, with the API's rules.
	DecideException(ctx context.Context, u patchwave.User, id int64, to patchwave.ExceptionState, comment string) (patchwave.Exception, error)
	// TimeZone is the organisation's time zone, in which release cycles
	// fall and dates typed into forms are read.
	TimeZone() *time.Location
	// ComplianceReport returns the monthly compliance report of month
	// (YYYY-MM; "" for the current month).
	ComplianceReport(ctx context.Context, month string) (report.Report, error)
	// Tickets returns the follow-up tickets nobody has closed (open and
	// acknowledged), each with the troubleshooting guide its error matches.
	Tickets(ctx context.Context) ([]ticket.Ticket, error)
}

// CookieName is the name of the session cookie.
const CookieName = "patchwave_session"

// PageSize is how many hosts (or findings) a list shows per page unless the
// request asks for another number (the limit parameter, at most MaxPageSize).
const PageSize = 50

// MaxPageSize is the largest page of hosts or findings a request may ask for.
const MaxPageSize = 500

// contentSecurityPolicy allows only this origin's own scripts, styles and
// images, and no framing: the templates have no inline script or style.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'"

// Handler serves the web UI. Build it with New; it is safe for concurrent use.
type Handler struct {
	b       Backend
	log     *slog.Logger
	secure  bool
	mux     *http.ServeMux
	pages   *pages
	static  *staticFiles
	handler http.Handler
}

// New returns the web UI over b. Errors are logged to logger. When
// secureCookies is set the session cookie is marked Secure, so browsers send
// it only over HTTPS. The handler expects to be mounted at "/".
func New(b Backend, logger *slog.Logger, secureCookies bool) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{b: b, log: logger, secure: secureCookies, mux: http.NewServeMux(), static: loadStatic()}
	h.pages = parsePages(h.static)
	h.routes()

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, patchwave.Errorf(patchwave.EForbidden,
			"This request came from another site and was refused, to protect your account. "+
				"Go back to Patchwave and try again from there."))
	}))
	h.handler = securityHeaders(cop.Handler(http.HandlerFunc(h.serveMux)))
	return h
}

// ServeHTTP serves one request of the web UI.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// routes is the one table of the UI's routes.
func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET /{$}", http.RedirectHandler("/hosts", http.StatusSeeOther))
	m.Handle("GET /login", h.handle(h.getLogin))
	m.Handle("POST /login", h.handle(h.postLogin))
	m.Handle("POST /logout", h.handle(h.postLogout))
	m.Handle("GET /hosts", h.handle(h.auth(h.getHosts)))
	m.Handle("GET /hosts/{host}", h.handle(h.auth(h.getHost)))
	m.Handle("POST /hosts/{host}", h.handle(h.auth(h.postHost)))
	m.Handle("GET /findings", h.handle(h.auth(h.getFindings)))
	m.Handle("GET /advisories/{id}", h.handle(h.auth(h.getAdvisory)))
	m.Handle("GET /feeds", h.handle(h.auth(h.getFeeds)))
	m.Handle("GET /policy", h.handle(h.auth(h.getPolicy)))
	m.Handle("GET /exceptions", h.handle(h.auth(h.getExceptions)))
	m.Handle("POST /exceptions", h.handle(h.auth(h.postExclusion)))
	m.Handle("POST /exceptions/{id}/approve", h.handle(h.auth(h.postDecision(patchwave.ExceptionApproved))))
	m.Handle("POST /exceptions/{id}/reject", h.handle(h.auth(h.postDecision(patchwave.ExceptionRejected))))
	m.Handle("POST /exceptions/{id}/revoke", h.handle(h.auth(h.postDecision(patchwave.ExceptionRevoked))))
	m.Handle("GET /releases", h.handle(h.auth(h.getReleases)))
	m.Handle("GET /releases/{release}", h.handle(h.auth(h.getRelease)))
	m.Handle("GET /releases/{release}/live", h.handle(h.auth(h.getReleaseLive)))
	m.Handle("POST /releases/{release}/approvals", h.handle(h.auth(h.postApproval)))
	m.Handle("POST /releases/{release}/pause", h.handle(h.auth(h.postRolloutAction(actionPause))))
	m.Handle("POST /releases/{release}/resume", h.handle(h.auth(h.postRolloutAction(actionResume))))
	m.Handle("GET /calendar", h.handle(h.auth(h.getCalendar)))
	m.Handle("GET /tickets", h.handle(h.auth(h.getTickets)))
	m.Handle("GET /reports", h.handle(h.auth(h.getReports)))
	m.Handle("GET /static/{file}", h.handle(h.getStatic))
	m.Handle("GET /favicon.ico", h.handle(h.getFavicon))
}

// serveMux runs the mux, but renders its "404 page not found" and "405
// method not allowed" answers as friendly pages.
func (h *Handler) serveMux(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.mux.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header()["Allow"] = rec.header["Allow"]
		h.renderError(w, r, &statusError{status: http.StatusMethodNotAllowed,
			msg: "This page does not accept " + r.Method + " requests."})
		return
	}
	h.renderError(w, r, patchwave.Errorf(patchwave.ENotFound, "There is no page at %s.", r.URL.Path))
}

// statusRecorder notes the status and headers a fallback handler writes.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			// Served over TLS: browsers must not come back over plain HTTP.
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// handlerFunc is a page handler: it writes a page or returns an error, which
// handle renders.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle turns a handlerFunc into an http.Handler.
func (h *Handler) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, &requestState{}))
		if err := fn(w, r); err != nil {
			if patchwave.ErrorCode(err) == patchwave.EUnauthorized && r.Method == http.MethodGet {
				// The session ended while we were working: sign in again.
				h.clearCookie(w)
				redirectToLogin(w, r)
				return
			}
			h.renderError(w, r, err)
		}
	})
}

// requestState is what handle keeps for one request in its context: the
// signed-in user, once auth has found them, so that an error page shows them
// in the top bar too.
type requestState struct {
	user *patchwave.User
}

type stateKey struct{}

// auth makes fn require a signed-in user, whom it records in the request's
// state; without one, the browser is sent to the login page.
func (h *Handler) auth(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := r.Cookie(CookieName)
		if err != nil || c.Value == "" {
			redirectToLogin(w, r)
			return nil
		}
		u, err := h.b.Session(r.Context(), c.Value)
		if err != nil {
			if patchwave.ErrorCode(err) == patchwave.EUnauthorized {
				h.clearCookie(w)
				redirectToLogin(w, r)
				return nil
			}
			return err
		}
		if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
			st.user = &u
		}
		return fn(w, r)
	}
}

// currentUser returns the signed-in user of r, if any.
func currentUser(r *http.Request) *patchwave.User {
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		return st.user
	}
	return nil
}

// redirectToLogin sends the browser to the login page, which brings it back
// to where it was going once signed in.
func redirectToLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if next := r.URL.RequestURI(); r.Method == http.MethodGet && next != "/" && next != "/hosts" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext returns next when it is a path on this site, and "/hosts" otherwise,
// so that a crafted login link cannot send people to another site.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/hosts"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "/login" {
		return "/hosts"
	}
	return next
}

func (h *Handler) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// statusError is an error with an HTTP status that has no patchwave code.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// httpStatus maps an error to the status of the page that shows it.
func httpStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return patchwave.HTTPStatus(patchwave.ErrorCode(err))
}

// errorPage is what the error template shows.
type errorPage struct {
	layout
	Status    int
	Heading   string
	Message   string
	RequestID string
}

// renderError renders err as a friendly page with the matching status.
// Internal errors are logged here, once, under a request id that the page
// shows; their details stay in the log.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpStatus(err)
	p := errorPage{layout: layout{Title: http.StatusText(status), User: currentUser(r)}, Status: status}
	var se *statusError
	switch {
	case errors.As(err, &se):
		p.Message = se.msg
	case status == http.StatusInternalServerError:
		p.RequestID = requestID(r)
		p.Message = "Something went wrong on our side. It has been logged; if it keeps happening, " +
			"tell your administrator and quote the request id below."
		h.log.ErrorContext(r.Context(), "web: internal error", "err", err, "method", r.Method,
			"path", r.URL.Path, "request_id", p.RequestID)
	default:
		p.Message = patchwave.ErrorMessage(err)
	}
	switch status {
	case http.StatusNotFound:
		p.Heading = "Not found"
	case http.StatusForbidden:
		p.Heading = "Not allowed"
	case http.StatusBadRequest:
		p.Heading = "That request did not make sense"
	case http.StatusTooManyRequests:
		p.Heading = "Too many requests"
		w.Header().Set("Retry-After", "60")
	case http.StatusServiceUnavailable:
		p.Heading = "Patchwave is not ready"
	case http.StatusInternalServerError:
		p.Heading = "Something went wrong"
	default:
		p.Heading = http.StatusText(status)
	}
	h.render(w, r, status, "error", &p)
}

// requestID returns the request's id from the X-Request-Id header that a
// proxy or the server's middleware set, or a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && patchwave.ValidText("id", id, 64) == nil {
		return id
	}
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// now is the time pages are rendered at.
func now() time.Time { return time.Now() }
