package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/evidence"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/store"
)

// EvidenceKeySetting is the settings key of the evidence-signing key. It
// is apart from the task-signing key: a bundle's key can be handed to
// auditors without saying anything about what agents trust.
const EvidenceKeySetting = "evidence-signing-key"

// LoadEvidenceKey returns the server's evidence-signing key, making one
// the first time; replicas agree on one.
func LoadEvidenceKey(ctx context.Context, s *store.Store) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	v, err := s.SettingOnce(ctx, EvidenceKeySetting, []byte(`"`+base64.StdEncoding.EncodeToString(seed)+`"`))
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.Trim(string(v), `"`))
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("stored evidence-signing key is damaged")
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// evidenceKeyT is the answer of GET /api/v1/evidence/key.
type evidenceKeyT struct {
	Algorithm string `json:"algorithm"`  // ed25519
	PublicKey string `json:"public_key"` // base64
}

func (a *API) evidenceKey(w http.ResponseWriter, r *http.Request) error {
	k, err := LoadEvidenceKey(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, evidenceKeyT{Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))})
	return nil
}

// EvidenceFiles gathers what a release's evidence bundle holds: the
// release, its frozen patch sets (checked against their hashes), its
// hosts and waves, approvals with reasons, each wave's rollout events,
// the task results, the exceptions in force during it, its audit events
// and its final compliance report.
func EvidenceFiles(ctx context.Context, st *store.Store, key string) (store.Release, []evidence.File, error) {
	rel, err := st.Release(ctx, key)
	if err != nil {
		return rel, nil, err
	}
	var files []evidence.File
	add := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("evidence %s: %w", name, err)
		}
		files = append(files, evidence.File{Name: name, Data: append(b, '\n')})
		return nil
	}
	if err := add("release.json", map[string]any{"name": rel.Name, "cycle": rel.Cycle, "kind": rel.Kind, "state": rel.State,
		"state_reason": rel.StateReason, "released_at": rel.ReleasedAt, "content_hash": rel.ContentHash, "created_by": rel.CreatedBy,
		"created_at": rel.CreatedAt, "waves": json.RawMessage(orEmpty(rel.Waves, "[]")), "summary": json.RawMessage(orEmpty(rel.Summary, "{}"))}); err != nil {
		return rel, nil, err
	}
	sets, err := st.PatchSets(ctx, rel.ID)
	if err != nil {
		return rel, nil, err
	}
	for _, ps := range sets {
		if plan.PatchSetHash(ps) != ps.Hash {
			return rel, nil, fmt.Errorf("release %s: patch set %s does not match its hash: the stored content changed", rel.Name, ps.Hash)
		}
	}
	hosts, err := st.ReleaseHosts(ctx, rel.ID)
	if err != nil {
		return rel, nil, err
	}
	waves, err := st.ReleaseWaves(ctx, rel.ID)
	if err != nil {
		return rel, nil, err
	}
	approvals, err := st.Approvals(ctx, rel.ID)
	if err != nil {
		return rel, nil, err
	}
	events, err := st.Events(ctx, rel.ID, 0, 0, 1<<30)
	if err != nil {
		return rel, nil, err
	}
	var tasks []patchwave.Task
	for after := int64(0); ; {
		ts, next, err := st.ListTasks(ctx, store.TaskFilter{ReleaseID: rel.ID, After: after, Limit: 1000})
		if err != nil {
			return rel, nil, err
		}
		tasks = append(tasks, ts...)
		if next == 0 {
			break
		}
		after = next
	}
	excs, err := LoadExceptions(ctx, st)
	if err != nil {
		return rel, nil, err
	}
	now := st.Now()
	inForce := []patchwave.Exception{}
	for _, e := range excs {
		s := e.StateAt(now)
		decided := e.CreatedAt
		if e.DecidedAt != nil {
			decided = *e.DecidedAt
		}
		if (s == patchwave.ExceptionApproved || s == patchwave.ExceptionExpired) && !e.ExpiresAt.Before(rel.ReleasedAt) && !decided.After(now) {
			inForce = append(inForce, e)
		}
	}
	var audit []patchwave.AuditEvent
	if err := st.EachAudit(ctx, rel.CreatedAt, now.Add(time.Millisecond), func(e patchwave.AuditEvent) error {
		if e.Object == "release:"+rel.Name {
			audit = append(audit, e)
		}
		return nil
	}); err != nil {
		return rel, nil, err
	}
	rep, err := ReleaseReport(ctx, st, rel.Name)
	if err != nil {
		return rel, nil, err
	}
	byWave := map[int][]patchwave.RolloutEvent{}
	for _, e := range events {
		byWave[e.Wave] = append(byWave[e.Wave], e)
	}
	for _, step := range []struct {
		name string
		v    any
	}{
		{"patch-sets.json", nonNilSlice(sets)},
		{"hosts.json", nonNilSlice(hosts)},
		{"waves.json", nonNilSlice(waves)},
		{"approvals.json", nonNilSlice(approvals)},
		{"events/rollout.json", nonNilSlice(byWave[-1])},
	} {
		if err := add(step.name, step.v); err != nil {
			return rel, nil, err
		}
	}
	for _, w := range waves {
		if err := add(fmt.Sprintf("events/wave-%d.json", w.Wave), nonNilSlice(byWave[w.Wave])); err != nil {
			return rel, nil, err
		}
	}
	for _, step := range []struct {
		name string
		v    any
	}{
		{"tasks.json", nonNilSlice(tasks)},
		{"exceptions.json", inForce},
		{"audit.json", nonNilSlice(audit)},
		{"compliance.json", rep},
	} {
		if err := add(step.name, step.v); err != nil {
			return rel, nil, err
		}
	}
	return rel, files, nil
}

func orEmpty(b []byte, def string) []byte {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte(def)
	}
	return b
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (a *API) exportEvidence(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := auditReader(u); err != nil {
		return err
	}
	ctx := r.Context()
	rel, files, err := EvidenceFiles(ctx, a.store, r.PathValue("release"))
	if err != nil {
		return err
	}
	key, err := LoadEvidenceKey(ctx, a.store)
	if err != nil {
		return err
	}
	b, err := evidence.Bytes(rel.Name, u.Name, a.store.Now(), files, key)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		return tx.Audit(u.Name, "evidence.export", "release:"+rel.Name, map[string]any{"sha256": hex.EncodeToString(sum[:]), "files": len(files), "bytes": len(b)})
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "evidence-"+fileName(rel.Name)+".tar.gz"))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}
