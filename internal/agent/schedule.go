package agent

import (
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Scheduling defaults.
const (
	// DefaultInterval is the check-in interval when neither the server nor
	// the configuration gives one.
	DefaultInterval = time.Hour
	// minInterval keeps a misconfigured server or flag from making the
	// agent hammer the server.
	minInterval = 10 * time.Second
	// firstBackoff is the wait after the first failed attempt; it doubles
	// on each further failure up to maxBackoff (or the interval, if shorter).
	firstBackoff = 10 * time.Second
	maxBackoff   = time.Hour
	// maxRetryAfter bounds what a server's Retry-After can make us wait.
	maxRetryAfter = 6 * time.Hour
)

// Splay is the host's fixed offset within the check-in interval, derived
// from its id, so that a fleet spreads its check-ins evenly over the
// interval and each host keeps its slot across restarts.
func Splay(hostID int64, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(hostID))
	h.Write(b[:])
	return time.Duration(h.Sum64() % uint64(interval))
}

// nextDelay is how long to wait after a check-in at now: until the next
// instant whose offset within the interval (counted from the Unix epoch) is
// the host's splay, at least half an interval away, moved by jitter times a
// tenth of the interval. jitter is in [-1, 1].
func nextDelay(now time.Time, interval, splay time.Duration, jitter float64) time.Duration {
	off := time.Duration(now.UnixNano()) % interval
	if off < 0 {
		off += interval
	}
	d := splay - off
	for d < interval/2 {
		d += interval
	}
	d += time.Duration(jitter * float64(interval/10))
	return max(d, minInterval)
}

// backoff is how long to wait after the n-th consecutive failure (n >= 1):
// firstBackoff doubling each time, capped at limit, then reduced by up to
// a quarter at random (r in [0, 1)) so that agents failing together do not
// retry together.
func backoff(n int, limit time.Duration, r float64) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d - time.Duration(r*float64(d/4))
}

// retryAfter remembers the Retry-After header of the last 429 or 503
// answer, since the API client turns answers into errors without headers.
type retryAfter struct {
	next http.RoundTripper
	d    atomic.Int64 // time.Duration; 0 when the last answer had none
}

// RoundTrip implements http.RoundTripper.
func (t *retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	var d time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		d = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	t.d.Store(int64(d))
	return resp, nil
}

// take returns and forgets the last Retry-After.
func (t *retryAfter) take() time.Duration { return time.Duration(t.d.Swap(0)) }

// parseRetryAfter reads a Retry-After value: seconds or an HTTP date.
// It returns 0 when there is none or it cannot be read.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
