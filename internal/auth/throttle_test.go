package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	th := NewThrottle(3, 10*time.Minute, 15*time.Minute)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	if th.Fail("ann", at(0)) || th.Fail("ann", at(time.Minute)) {
		t.Fatal("locked before the third failure")
	}
	if l, _ := th.Locked("ann", at(2*time.Minute)); l {
		t.Fatal("locked after two failures")
	}
	if !th.Fail("ann", at(2*time.Minute)) {
		t.Fatal("not locked at the third failure")
	}
	if l, left := th.Locked("ann", at(3*time.Minute)); !l || left != 14*time.Minute {
		t.Errorf("Locked = %v, %v; want true, 14m", l, left)
	}
	if l, _ := th.Locked("bob", at(3*time.Minute)); l {
		t.Error("another key is locked")
	}
	if l, _ := th.Locked("ann", at(17*time.Minute)); l {
		t.Error("still locked after the lock ran out")
	}

	// Failures spread beyond the window do not add up.
	th.Fail("cy", at(0))
	th.Fail("cy", at(5*time.Minute))
	if th.Fail("cy", at(11*time.Minute)) {
		t.Error("locked by failures outside one window")
	}
	// A success forgets the failures.
	th.Fail("dee", at(0))
	th.Fail("dee", at(time.Second))
	th.Succeed("dee")
	if th.Fail("dee", at(2*time.Second)) {
		t.Error("locked after a success reset the count")
	}

	// A flood of names stays bounded.
	small := NewThrottle(3, time.Minute, time.Minute)
	small.MaxKeys = 100
	for i := range 10_000 {
		small.Fail(fmt.Sprint("user-", i), at(time.Duration(i)*time.Millisecond))
	}
	if n := len(small.keys); n > 100 {
		t.Errorf("%d keys kept, want at most 100", n)
	}

	var none *Throttle // a nil throttle throttles nothing
	none.Fail("x", t0)
	if l, _ := none.Locked("x", t0); l {
		t.Error("nil throttle locked")
	}
}
