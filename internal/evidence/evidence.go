// Package evidence writes and checks evidence bundles: a release's frozen
// patch sets, approvals, rollout events, task results, exceptions and
// final compliance in one tar.gz, with a manifest of SHA-256 hashes signed
// with Ed25519. A bundle is checked offline with nothing but the server's
// evidence public key: any changed, added, removed or renamed file, and
// any change to the manifest, fails verification.
package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Names of the bundle's own entries.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig" // base64 of the Ed25519 signature of manifest.json
)

// Limits on what Verify reads, so that a hostile archive cannot exhaust
// memory or disk.
const (
	MaxFiles     = 1000
	MaxFileSize  = 512 << 20 // one file, uncompressed
	MaxTotalSize = 2 << 30   // all files, uncompressed
	MaxNameLen   = 200
)

// File is one file of a bundle.
type File struct {
	Name string
	Data []byte
}

// Entry is a file as the manifest lists it.
type Entry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest describes a bundle: what it is about, when it was made, by
// whom, with which key, and every file with its hash.
type Manifest struct {
	Format    int       `json:"format"` // 1
	Release   string    `json:"release"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	PublicKey string    `json:"public_key"` // base64 of the Ed25519 public key
	Files     []Entry   `json:"files"`
}

// Write writes a bundle of files about release to w, signed with key. The
// files go in the order given, after the manifest and its signature.
func Write(w io.Writer, release, createdBy string, at time.Time, files []File, key ed25519.PrivateKey) (Manifest, error) {
	m := Manifest{Format: 1, Release: release, CreatedAt: at.UTC(), CreatedBy: createdBy,
		PublicKey: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}
	seen := map[string]bool{}
	for _, f := range files {
		if err := checkName(f.Name); err != nil {
			return m, err
		}
		if seen[f.Name] {
			return m, fmt.Errorf("evidence: file %s twice", f.Name)
		}
		seen[f.Name] = true
		sum := sha256.Sum256(f.Data)
		m.Files = append(m.Files, Entry{Name: f.Name, Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:])})
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("evidence manifest: %w", err)
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb))
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	add := func(name string, b []byte) error {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add(ManifestName, mb); err != nil {
		return m, fmt.Errorf("evidence: %w", err)
	}
	if err := add(SignatureName, []byte(sig+"\n")); err != nil {
		return m, fmt.Errorf("evidence: %w", err)
	}
	for _, f := range files {
		if err := add(f.Name, f.Data); err != nil {
			return m, fmt.Errorf("evidence %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("evidence: %w", err)
	}
	if err := gz.Close(); err != nil {
		return m, fmt.Errorf("evidence: %w", err)
	}
	return m, nil
}

// checkName accepts plain relative paths: no "..", no absolute paths, no
// backslashes or control characters, nothing that cleans to another name.
func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("evidence: file name %.60q is empty or longer than %d bytes", name, MaxNameLen)
	}
	if path.Clean(name) != name || strings.HasPrefix(name, "/") || strings.HasPrefix(name, "../") || name == ".." ||
		strings.ContainsAny(name, "\\:") || name == ManifestName || name == SignatureName {
		return fmt.Errorf("evidence: file name %q is not a plain relative path", name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("evidence: file name %q contains a control character", name)
		}
	}
	return nil
}

// ErrBadSignature means the manifest is not signed by the given key.
var ErrBadSignature = errors.New("the manifest's signature does not verify with this key")

// Verify reads a bundle from r and checks it against pub: the manifest's
// signature, then every file's size and SHA-256 against the manifest, with
// no file missing, added or repeated. It returns the manifest and the
// files when all holds; errors name what failed.
func Verify(r io.Reader, pub ed25519.PublicKey) (Manifest, []File, error) {
	var m Manifest
	if len(pub) != ed25519.PublicKeySize {
		return m, nil, fmt.Errorf("evidence: the public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, nil, fmt.Errorf("evidence: not a gzip file: %w", err)
	}
	tr := tar.NewReader(gz)
	var manifest, sig []byte
	var files []File
	seen := map[string]bool{}
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, nil, fmt.Errorf("evidence: not a valid tar archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return m, nil, fmt.Errorf("evidence: entry %q is not a regular file", hdr.Name)
		}
		if hdr.Name != ManifestName && hdr.Name != SignatureName {
			if err := checkName(hdr.Name); err != nil {
				return m, nil, err
			}
		}
		if seen[hdr.Name] {
			return m, nil, fmt.Errorf("evidence: entry %s appears twice", hdr.Name)
		}
		seen[hdr.Name] = true
		if len(seen) > MaxFiles+2 {
			return m, nil, fmt.Errorf("evidence: more than %d files", MaxFiles)
		}
		if hdr.Size < 0 || hdr.Size > MaxFileSize {
			return m, nil, fmt.Errorf("evidence: entry %s is %d bytes, at most %d allowed", hdr.Name, hdr.Size, MaxFileSize)
		}
		if total += hdr.Size; total > MaxTotalSize {
			return m, nil, fmt.Errorf("evidence: the files exceed %d bytes together", int64(MaxTotalSize))
		}
		b, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
		if err != nil || int64(len(b)) != hdr.Size {
			return m, nil, fmt.Errorf("evidence: entry %s is cut short: %v", hdr.Name, err)
		}
		switch hdr.Name {
		case ManifestName:
			manifest = b
		case SignatureName:
			sig = b
		default:
			files = append(files, File{Name: hdr.Name, Data: b})
		}
	}
	if manifest == nil || sig == nil {
		return m, nil, fmt.Errorf("evidence: %s or %s is missing: not an evidence bundle", ManifestName, SignatureName)
	}
	s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil || len(s) != ed25519.SignatureSize {
		return m, nil, fmt.Errorf("evidence: %s is not a base64 Ed25519 signature", SignatureName)
	}
	if !ed25519.Verify(pub, manifest, s) {
		return m, nil, fmt.Errorf("evidence: %w", ErrBadSignature)
	}
	// Signed by the key: the manifest is what the server wrote.
	if err := json.Unmarshal(manifest, &m); err != nil {
		return m, nil, fmt.Errorf("evidence: %s: %w", ManifestName, err)
	}
	if m.Format != 1 {
		return m, nil, fmt.Errorf("evidence: manifest format %d is not known (want 1)", m.Format)
	}
	listed := map[string]Entry{}
	for _, e := range m.Files {
		listed[e.Name] = e
	}
	for _, f := range files {
		e, ok := listed[f.Name]
		if !ok {
			return m, nil, fmt.Errorf("evidence: %s is not in the manifest: a file was added", f.Name)
		}
		sum := sha256.Sum256(f.Data)
		if int64(len(f.Data)) != e.Size || hex.EncodeToString(sum[:]) != e.SHA256 {
			return m, nil, fmt.Errorf("evidence: %s does not match its SHA-256 in the manifest: it was changed", f.Name)
		}
		delete(listed, f.Name)
	}
	if len(listed) > 0 {
		var missing []string
		for n := range listed {
			missing = append(missing, n)
		}
		slices.Sort(missing)
		return m, nil, fmt.Errorf("evidence: %s listed in the manifest but missing", strings.Join(missing, ", "))
	}
	return m, files, nil
}

// ParsePublicKey reads an Ed25519 public key as Patchwave prints it:
// base64 or hex of its 32 bytes, surrounding space ignored.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	return nil, fmt.Errorf("evidence: key %.20q… is not an Ed25519 public key in base64 or hex (32 bytes)", s)
}

// Bytes is Write into memory.
func Bytes(release, createdBy string, at time.Time, files []File, key ed25519.PrivateKey) ([]byte, error) {
	var b bytes.Buffer
	_, err := Write(&b, release, createdBy, at, files, key)
	return b.Bytes(), err
}
