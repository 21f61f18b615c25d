package auth

import (
	"sync"
	"time"
)

// Throttle counts failed attempts (sign-ins, enrollments) by key — a user
// name, a client address — and locks a key out for a while once it has
// failed too often: Max failures within Window lock it for Lock. It keeps
// at most MaxKeys keys, forgetting the oldest quiet ones first, so that a
// flood of made-up names cannot fill the memory. It is safe for
// concurrent use. Each server replica keeps its own counts.
type Throttle struct {
	Max     int
	Window  time.Duration
	Lock    time.Duration
	MaxKeys int

	mu   sync.Mutex
	keys map[string]*attempts
}

type attempts struct {
	first  time.Time // of the current window
	n      int
	locked time.Time // until then
}

// NewThrottle returns a throttle of max failures per window, locking for lock.
func NewThrottle(max int, window, lock time.Duration) *Throttle {
	return &Throttle{Max: max, Window: window, Lock: lock, MaxKeys: 100_000, keys: map[string]*attempts{}}
}

// Locked reports whether key is locked out at now, and for how long still.
func (t *Throttle) Locked(key string, now time.Time) (bool, time.Duration) {
	if t == nil {
		return false, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.keys[key]
	if a == nil || !now.Before(a.locked) {
		return false, 0
	}
	return true, a.locked.Sub(now)
}

// Fail records a failed attempt of key at now, and reports whether it
// locked the key.
func (t *Throttle) Fail(key string, now time.Time) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.keys[key]
	if a == nil {
		if len(t.keys) >= t.MaxKeys {
			t.evict(now)
		}
		a = &attempts{first: now}
		t.keys[key] = a
	}
	if now.Sub(a.first) > t.Window {
		a.first, a.n = now, 0
	}
	a.n++
	if a.n >= t.Max {
		a.locked, a.first, a.n = now.Add(t.Lock), now, 0
		return true
	}
	return false
}

// Succeed forgets key's failures.
func (t *Throttle) Succeed(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// evict drops the keys neither locked nor in a window at now, or when all
// are, half of them.
func (t *Throttle) evict(now time.Time) {
	for k, a := range t.keys {
		if !now.Before(a.locked) && now.Sub(a.first) > t.Window {
			delete(t.keys, k)
		}
	}
	for k := range t.keys {
		if len(t.keys) < t.MaxKeys/2 {
			break
		}
		delete(t.keys, k)
	}
}
