package api

import (
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/auth"
)

// Limits throttles guessing: sign-ins by user name and by client address,
// enrollments by client address. A key that failed too often is refused
// for a while, with 429 and Retry-After, whatever it sends; the refusal
// says nothing about whether the user exists. Each replica counts its
// own; behind a load balancer the client address is the balancer's
// unless it is the only way in.
type Limits struct {
	Users, Clients, Enrollments *auth.Throttle
	Log                         *slog.Logger
}

// NewLimits returns the defaults: 5 failed sign-ins of one user name in
// 15 minutes lock it for 15 minutes; 30 from one address lock the
// address; 20 failed enrollments from one address lock it.
func NewLimits() *Limits {
	return &Limits{
		Users:       auth.NewThrottle(5, 15*time.Minute, 15*time.Minute),
		Clients:     auth.NewThrottle(30, 15*time.Minute, 15*time.Minute),
		Enrollments: auth.NewThrottle(20, 15*time.Minute, 15*time.Minute),
	}
}

// tooMany is the refusal of a locked key.
type tooMany struct {
	error
	retry time.Duration
}

func (e tooMany) Unwrap() error { return e.error }

func refuse(what string, left time.Duration) error {
	left = max(left.Round(time.Second), time.Second)
	return tooMany{patchwave.Errorf(patchwave.ETooMany, "too many failed %s: try again in %s", what, left), left}
}

// setRetryAfter sets Retry-After for a throttled refusal.
func setRetryAfter(w http.ResponseWriter, err error) {
	if e, ok := err.(tooMany); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retry.Seconds()))))
	}
}

// checkLogin refuses a sign-in of name from client when either is locked.
func (l *Limits) checkLogin(name, client string, now time.Time) error {
	if l == nil {
		return nil
	}
	if locked, left := l.Users.Locked("user:"+strings.ToLower(name), now); locked {
		return refuse("sign-ins for this user", left)
	}
	if locked, left := l.Clients.Locked(client, now); client != "" && locked {
		return refuse("sign-ins from this address", left)
	}
	return nil
}

// loginFailed counts a failed sign-in.
func (l *Limits) loginFailed(name, client string, now time.Time) {
	if l == nil {
		return
	}
	if l.Users.Fail("user:"+strings.ToLower(name), now) && l.Log != nil {
		l.Log.Warn("sign-ins locked for a user after repeated failures", "user", name, "for", l.Users.Lock)
	}
	if client != "" && l.Clients.Fail(client, now) && l.Log != nil {
		l.Log.Warn("sign-ins locked for an address after repeated failures", "client", client, "for", l.Clients.Lock)
	}
}

// loginSucceeded forgets a user's failures (not the address's).
func (l *Limits) loginSucceeded(name string) {
	if l != nil {
		l.Users.Succeed("user:" + strings.ToLower(name))
	}
}

// clientAddr is the address of the peer that sent r.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// checkEnroll refuses an enrollment from a locked address.
func (l *Limits) checkEnroll(client string, now time.Time) error {
	if l == nil {
		return nil
	}
	if locked, left := l.Enrollments.Locked(client, now); locked {
		return refuse("enrollments from this address", left)
	}
	return nil
}

func (l *Limits) enrollFailed(client string, now time.Time) {
	if l != nil && l.Enrollments.Fail(client, now) && l.Log != nil {
		l.Log.Warn("enrollments locked for an address after repeated failures", "client", client, "for", l.Enrollments.Lock)
	}
}
