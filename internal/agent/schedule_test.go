package agent

import (
	"net/http"
	"testing"
	"time"
)

func TestSplay(t *testing.T) {
	const iv = time.Hour
	// Deterministic: same host, same interval, same splay.
	for id := int64(1); id < 100; id++ {
		s := Splay(id, iv)
		if s != Splay(id, iv) {
			t.Fatalf("Splay(%d) is not deterministic", id)
		}
		if s < 0 || s >= iv {
			t.Fatalf("Splay(%d) = %v, outside [0, %v)", id, s, iv)
		}
	}
	// Pinned values: a change here moves every agent's slot.
	for _, tt := range []struct {
		id       int64
		interval time.Duration
		want     time.Duration
	}{
		{1, iv, 31*time.Minute + 53530546194},
		{2, iv, 13*time.Minute + 34018917983},
		{12345, 24 * time.Hour, 7*time.Hour + 31*time.Minute + 36224614698},
	} {
		if got := Splay(tt.id, tt.interval); got != tt.want {
			t.Errorf("Splay(%d, %v) = %v, want %v", tt.id, tt.interval, got, tt.want)
		}
	}
	// Spread: 1,000 hosts over 10 buckets of the interval, none nearly empty.
	var buckets [10]int
	for id := int64(1); id <= 1000; id++ {
		buckets[Splay(id, iv)*10/iv]++
	}
	for i, n := range buckets {
		if n < 50 {
			t.Errorf("bucket %d holds %d of 1000 hosts: splay is not spread (%v)", i, n, buckets)
		}
	}
	if Splay(5, 0) != 0 {
		t.Error("Splay with no interval is not 0")
	}
}

func TestNextDelay(t *testing.T) {
	const iv = time.Hour
	splay := 17 * time.Minute
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) // on an hour boundary
	for _, tt := range []struct {
		now    time.Time
		jitter float64
		want   time.Duration
	}{
		{base, 0, 77 * time.Minute},                       // 10:17 is under half an interval away: 11:17
		{base.Add(10 * time.Minute), 0, 67 * time.Minute}, // from 10:10, 11:17
		{base.Add(17 * time.Minute), 0, time.Hour},        // on the slot: the next one
		{base.Add(50 * time.Minute), 0, 87 * time.Minute}, // 11:17 is under half an interval away: 12:17
		{base.Add(40 * time.Minute), 0, 37 * time.Minute}, // 11:17
		{base.Add(17 * time.Minute), 1, time.Hour + 6*time.Minute},
		{base.Add(17 * time.Minute), -1, time.Hour - 6*time.Minute},
	} {
		if got := nextDelay(tt.now, iv, splay, tt.jitter); got != tt.want {
			t.Errorf("nextDelay(%s, jitter %v) = %v, want %v", tt.now.Format("15:04"), tt.jitter, got, tt.want)
		}
	}
	// Whatever the time and jitter, the delay stays within [0.4, 1.6] intervals
	// and lands within 10% of an interval of the host's slot.
	for i := range 1000 {
		now := base.Add(time.Duration(i) * 7919 * time.Second)
		j := float64(i%21-10) / 10
		d := nextDelay(now, iv, splay, j)
		if d < iv*4/10 || d > iv*16/10 {
			t.Fatalf("nextDelay(%v, %v) = %v: out of bounds", now, j, d)
		}
		off := time.Duration(now.Add(d).UnixNano()) % iv
		if diff := (off-splay+iv+iv/2)%iv - iv/2; diff < -iv/10 || diff > iv/10 {
			t.Fatalf("nextDelay(%v, %v) lands %v from the slot", now, j, diff)
		}
	}
}

func TestBackoff(t *testing.T) {
	limit := 5 * time.Minute
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := backoff(i+1, limit, 0); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(3, limit, 0.999); got <= 30*time.Second || got > 40*time.Second {
		t.Errorf("backoff(3) with jitter = %v, want within (30s, 40s]", got)
	}
	if got := backoff(1000, limit, 0); got != limit {
		t.Errorf("backoff(1000) = %v, want the cap", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":     0,
		"30":   30 * time.Second,
		"-5":   0,
		"soon": 0,
		now.Add(2 * time.Minute).Format(http.TimeFormat): 2 * time.Minute,
		"999999999": maxRetryAfter,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
