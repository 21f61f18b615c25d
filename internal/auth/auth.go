// Package auth holds Patchwave's credential rules: password hashing with a
// slow key-derivation function, random tokens that are stored only as
// hashes, and constant-time comparison.
package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/patchwave/patchwave"
)

// Iterations is the PBKDF2-HMAC-SHA256 work factor for new password hashes
// (OWASP's 2023 recommendation). Stored hashes record their own count.
const Iterations = 600_000

// MinPasswordLen is the shortest password accepted for a user.
const MinPasswordLen = 8

// CheckPasswordRules tells why a new password is not acceptable.
func CheckPasswordRules(pw string) error {
	if len(pw) < MinPasswordLen {
		return patchwave.Errorf(patchwave.EInvalid, "password is too short: at least %d characters", MinPasswordLen)
	}
	if len(pw) > 1024 {
		return patchwave.Errorf(patchwave.EInvalid, "password is too long: at most 1024 bytes")
	}
	return nil
}

// HashPassword returns a self-describing hash: pbkdf2-sha256$iter$salt$key.
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, Iterations)
}

func hashPassword(pw string, iter int) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash, in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// Token prefixes say what a secret is, so that a leaked one is recognised.
const (
	PrefixAPI    = "pwt_" // user API tokens and CLI logins
	PrefixWeb    = "pws_" // web sessions
	PrefixEnroll = "pwe_" // enrollment tokens
	PrefixAgent  = "pwa_" // agent credentials
)

// NewToken returns a fresh random secret with the prefix, and its hash.
func NewToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how a token is stored and looked up. Tokens carry 256 random
// bits, so a fast hash is enough; only passwords need a slow KDF.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// Display returns the part of a token safe to show: its prefix and a few characters.
func Display(token string) string {
	if len(token) > 10 {
		return token[:10]
	}
	return token
}

// RandomPassword returns a random password for the first admin.
func RandomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
