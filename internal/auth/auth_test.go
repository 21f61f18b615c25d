package auth

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := hashPassword("correct horse", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse") {
		t.Error("right password refused")
	}
	for _, bad := range []string{"", "correct hors", "correct horse "} {
		if CheckPassword(h, bad) {
			t.Errorf("wrong password %q accepted", bad)
		}
	}
	for _, hostile := range []string{"", "$$$", "pbkdf2-sha256$x$y$z", "pbkdf2-sha256$99999999999$AA$AA", "md5$1$AA$AA", "pbkdf2-sha256$1$%%$AA"} {
		if CheckPassword(hostile, "x") {
			t.Errorf("hash %q accepted", hostile)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	if CheckPasswordRules("short") == nil {
		t.Error("short password accepted")
	}
	if CheckPasswordRules(strings.Repeat("x", 2000)) == nil {
		t.Error("long password accepted")
	}
	if err := CheckPasswordRules("long enough"); err != nil {
		t.Error(err)
	}
}

func TestToken(t *testing.T) {
	a, ha := NewToken(PrefixAPI)
	b, hb := NewToken(PrefixAPI)
	if a == b || ha == hb || !strings.HasPrefix(a, PrefixAPI) || HashToken(a) != ha {
		t.Errorf("tokens %q %q hashes %q %q", a, b, ha, hb)
	}
	if strings.Contains(ha, a) || len(Display(a)) != 10 {
		t.Error("hash or display leaks the token")
	}
}
