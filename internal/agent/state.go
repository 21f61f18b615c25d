package agent

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Names of the files the agent keeps in its state directory.
const (
	// StateFile holds the agent's identity, credential and the hashes the
	// server last acknowledged.
	StateFile = "agent.json"
	// BaseFile holds the package list the server last acknowledged, in
	// patchwave.EncodePackages form, gzip-compressed. Deltas are computed
	// against it.
	BaseFile = "packages.gz"
)

// ErrNotEnrolled is returned when the state directory holds no credential
// and no enrollment token was given.
var ErrNotEnrolled = errors.New("agent is not enrolled: no credential in the state directory and no enrollment token given (use --enroll-token)")

// State is what the agent keeps between runs in StateDir/agent.json. It holds
// a secret (the credential) and is written with mode 0600.
type State struct {
	HostID     int64     `json:"host_id"`
	Server     string    `json:"server"`
	Credential string    `json:"credential"`
	EnrolledAt time.Time `json:"enrolled_at,omitzero"`

	// FactsHash and PackagesHash are what the server last acknowledged;
	// empty when it has acknowledged nothing yet (or asked for a full report).
	FactsHash    string `json:"facts_hash,omitempty"`
	PackagesHash string `json:"packages_hash,omitempty"`

	// LastCheckin is when the last check-in succeeded.
	LastCheckin time.Time `json:"last_checkin,omitzero"`
	// Interval is the check-in interval the server last asked for, in seconds.
	Interval int `json:"checkin_interval,omitempty"`
	// ServerKey is the server's task-signing public key, pinned at
	// enrollment: tasks not signed with it are refused.
	ServerKey []byte `json:"server_key,omitempty"`
	// Wait is how long the server last invited long polls for, in seconds.
	Wait int `json:"wait,omitempty"`
	// CA is the certificate (DER) of the CA pinned at enrollment: the
	// server's TLS certificate must chain to it, and to nothing else.
	CA []byte `json:"ca,omitempty"`
}

// LoadState reads StateDir/agent.json. A missing file gives an error that
// matches fs.ErrNotExist; a damaged one gives an error that says so and how
// to recover.
func LoadState(dir string) (State, error) {
	name := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(name)
	if err != nil {
		return State{}, fmt.Errorf("load agent state: %w", err)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return State{}, corrupt(name, err)
	}
	if dec.More() {
		return State{}, corrupt(name, errors.New("trailing data after the JSON object"))
	}
	switch {
	case s.HostID <= 0:
		return State{}, corrupt(name, fmt.Errorf("host_id %d is not a host id", s.HostID))
	case s.Credential == "":
		return State{}, corrupt(name, errors.New("no credential"))
	}
	return s, nil
}

func corrupt(name string, err error) error {
	return fmt.Errorf("agent state file %s is corrupt (%v): move it away and enroll again with --enroll-token", name, err)
}

// SaveState writes s to StateDir/agent.json atomically (a temporary file
// renamed over the old one) with mode 0600, creating StateDir with mode 0700
// when it does not exist.
func SaveState(dir string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save agent state: %w", err)
	}
	b = append(b, '\n')
	if err := writeFileAtomic(dir, StateFile, b); err != nil {
		return fmt.Errorf("save agent state: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to dir/name through a temporary file in dir
// that is synced and renamed over name, so that readers see either the old
// or the new content, never a mix. The file gets mode 0600.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	// Make the rename durable. Not every platform can sync a directory;
	// the file itself is already safe, so errors are ignored.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// saveBase stores sorted, the package list the server has just acknowledged.
func saveBase(dir string, sorted []patchwave.Package) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(patchwave.EncodePackages(sorted)); err != nil {
		return fmt.Errorf("save package base: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("save package base: %w", err)
	}
	if err := writeFileAtomic(dir, BaseFile, buf.Bytes()); err != nil {
		return fmt.Errorf("save package base: %w", err)
	}
	return nil
}

// maxBaseBytes bounds the decompressed base file: MaxPackages entries of at
// most MaxPackageBytes plus separators.
const maxBaseBytes = patchwave.MaxPackages * (patchwave.MaxPackageBytes + 5)

// loadBase reads the acknowledged package list and checks that it hashes to
// want. Any problem (missing, damaged, another hash) is an error: the caller
// then reports the list in full.
func loadBase(dir, want string) ([]patchwave.Package, error) {
	f, err := os.Open(filepath.Join(dir, BaseFile))
	if err != nil {
		return nil, fmt.Errorf("load package base: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("load package base: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxBaseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load package base: %w", err)
	}
	if len(b) > maxBaseBytes {
		return nil, errors.New("load package base: file too large")
	}
	ps, err := decodePackages(string(b))
	if err != nil {
		return nil, fmt.Errorf("load package base: %w", err)
	}
	if got := patchwave.HashPackages(ps); got != want {
		return nil, fmt.Errorf("load package base: content hashes to %.12s, want %.12s", got, want)
	}
	return ps, nil
}

// decodePackages reads what patchwave.EncodePackages wrote, in one pass: the
// packages' fields are substrings of s. (patchwave.DecodePackages converts
// the rest of its input to a string for every line, which costs time and
// memory quadratic in the list's size.)
func decodePackages(s string) ([]patchwave.Package, error) {
	ps := make([]patchwave.Package, 0, strings.Count(s, "\n"))
	for s != "" {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return nil, errors.New("package list: last line is not terminated")
		}
		s = rest
		var f [5]string
		n := 0
		for field := range strings.SplitSeq(line, "\t") {
			if n == len(f) {
				n++
				break
			}
			f[n] = field
			n++
		}
		if n != len(f) {
			return nil, fmt.Errorf("package list: line %.80q does not have 5 fields", line)
		}
		ps = append(ps, patchwave.Package{Name: f[0], Version: f[1], Arch: f[2], Source: f[3], SourceVersion: f[4]})
	}
	return ps, nil
}
