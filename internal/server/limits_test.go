package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSignInAndEnrollLockout: repeated wrong passwords lock the user
// name, whatever password comes next, with 429 and Retry-After, and the
// same answer for a user that does not exist; other users still sign in;
// repeated bad enrollment tokens lock the address out of enrollment.
func TestSignInAndEnrollLockout(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	admin := login(t, ts.URL, "admin", adminPassword)
	try := func(user, pw string) (int, http.Header, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/login", strings.NewReader(`{"user":"`+user+`","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, resp.Header, b.String()
	}
	for i := range 5 {
		if st, _, b := try("admin", "wrong-"+strconv.Itoa(i)); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s", i, st, b)
		}
	}
	st, hdr, b := try("admin", adminPassword)
	if st != http.StatusTooManyRequests || !strings.Contains(b, "too many failed sign-ins for this user") {
		t.Fatalf("the right password while locked: %d %s", st, b)
	}
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 800 || ra > 900 {
		t.Errorf("Retry-After %q, want about 15 minutes", hdr.Get("Retry-After"))
	}
	// The web sign-in answers the same lock.
	resp, err := http.PostForm(ts.URL+"/login", url.Values{"name": {"admin"}, "password": {adminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("web sign-in while locked: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A user that does not exist locks the same way: no telling them apart.
	for range 5 {
		try("nobody-here", "x")
	}
	if st, _, b := try("nobody-here", "x"); st != http.StatusTooManyRequests {
		t.Errorf("an unknown user after 5 failures: %d %s", st, b)
	}
	// Another user is not locked by admin's failures.
	if st, _, b := call(t, "POST", ts.URL+"/api/v1/users", admin, "application/json", []byte(`{"name":"ann","password":"password-ann","role":"viewer"}`)); st != http.StatusCreated {
		t.Fatalf("create ann: %d %s", st, b)
	}
	if st, _, b := try("ann", "password-ann"); st != http.StatusOK {
		t.Errorf("ann signs in: %d %s", st, b)
	}
	// The lock runs out.
	ts.Store().SetClock(func() time.Time { return time.Now().Add(16 * time.Minute) })
	if st, _, b := try("admin", adminPassword); st != http.StatusOK {
		t.Errorf("after the lock ran out: %d %s", st, b)
	}

	// Enrollment with made-up tokens.
	var last int
	for i := range 21 {
		st, _, _ := call(t, "POST", ts.URL+"/api/v1/agent/enroll", "", "application/json",
			[]byte(`{"token":"pwe_guess`+strconv.Itoa(i)+`","facts":{"hostname":"h`+strconv.Itoa(i)+`","os":{"id":"debian","version":"12"}}}`))
		last = st
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("the 21st bad enrollment: %d, want 429", last)
	}
}
