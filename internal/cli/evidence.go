package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/patchwave/patchwave/internal/evidence"
)

// evidenceVerbs is the verb table of "patchwave evidence".
func evidenceVerbs() []command {
	return []command{
		{"export", "download a release's signed evidence bundle (tar.gz)", runEvidenceExport},
		{"key", "print the public key evidence bundles are signed with", runEvidenceKey},
		{"verify", "check a bundle offline against the public key", runEvidenceVerify},
	}
}

func runEvidenceExport(ctx context.Context, e env, args []string) error {
	v := newVerb("evidence export", "RELEASE", 1, `Download a release's evidence bundle: its frozen patch sets, hosts and waves,
approvals with their reasons, each wave's rollout events, task results, the
exceptions in force, its audit events and its final compliance report, with a
manifest of SHA-256 hashes signed by the server's evidence key. The export is
recorded in the audit trail.`,
		`patchwave evidence export 2026-12 -o evidence-2026-12.tar.gz`)
	file := v.String("o", "", "the `file` to write (default evidence-RELEASE.tar.gz)")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	path := *file
	if path == "" {
		path = "evidence-" + strings.NewReplacer("/", "_", "\\", "_").Replace(pos[0]) + ".tar.gz"
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	b, err := c.ExportEvidence(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("evidence of %s: %w", pos[0], err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	_, err = fmt.Fprintf(e.stdout, "Wrote %s (%d bytes, SHA-256 %s).\nVerify it offline with: patchwave evidence verify %s --key \"$(patchwave evidence key)\"\n",
		path, len(b), hex.EncodeToString(sum[:]), path)
	return err
}

func runEvidenceKey(ctx context.Context, e env, args []string) error {
	v := newVerb("evidence key", "", 0, "Print the public key (base64) evidence bundles are signed with; give it to auditors.",
		"patchwave evidence key > evidence.pub")
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	k, err := c.EvidenceKey(ctx)
	if err != nil {
		return fmt.Errorf("evidence key: %w", err)
	}
	_, err = fmt.Fprintln(e.stdout, k)
	return err
}

func runEvidenceVerify(ctx context.Context, e env, args []string) error {
	v := newVerb("evidence verify", "FILE", 1, `Check an evidence bundle offline, without a server: the manifest's Ed25519
signature against the key, then every file's SHA-256 and size, with none
missing, added or renamed. Exits 1 naming what failed.`,
		`patchwave evidence verify evidence-2026-12.tar.gz --key evidence.pub
patchwave evidence verify evidence-2026-12.tar.gz --key 3q2+7w...=`)
	keyFlag := v.String("key", "", "the public `key`: base64 or hex, or a file holding it (required)")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if *keyFlag == "" {
		return v.usageErrorf("--key is required: the public key from patchwave evidence key")
	}
	ks := *keyFlag
	pub, err := evidence.ParsePublicKey(ks)
	if err != nil {
		b, rerr := os.ReadFile(ks)
		if rerr != nil {
			return v.usageErrorf("--key is neither a public key nor a readable file: %v", err)
		}
		if pub, err = evidence.ParsePublicKey(string(b)); err != nil {
			return fmt.Errorf("key file %s: %w", ks, err)
		}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	m, files, err := evidence.Verify(f, pub)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "%s: signature good; %d files match the manifest.\nRelease %s, exported %s by %s.\n",
		pos[0], len(files), m.Release, m.CreatedAt.Format("2006-01-02 15:04:05 MST"), m.CreatedBy)
	t := newTable(e.stdout, "FILE", "BYTES", "SHA-256")
	for _, x := range m.Files {
		t.row(x.Name, fmt.Sprint(x.Size), x.SHA256)
	}
	return t.flush()
}
