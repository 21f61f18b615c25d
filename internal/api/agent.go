package api

import (
	"crypto/ed25519"
	"net/http"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/auth"
	"github.com/patchwave/patchwave/internal/store"
)

func (a *API) enroll(w http.ResponseWriter, r *http.Request) error {
	client, now := clientAddr(r), a.store.Now()
	if err := a.limits.checkEnroll(client, now); err != nil {
		setRetryAfter(w, err)
		return err
	}
	var req patchwave.EnrollRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return patchwave.Errorf(patchwave.EInvalid, "enrollment token is missing")
	}
	if err := req.Facts.Validate(); err != nil {
		return err
	}
	cred, credHash := auth.NewToken(auth.PrefixAgent)
	var h patchwave.Host
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		t, err := tx.UseEnrollToken(auth.HashToken(req.Token))
		if err != nil {
			return err
		}
		var adopted bool
		h, adopted, err = tx.EnrollHost(req.Facts, t, credHash)
		if err != nil {
			return err
		}
		action := "host.enroll"
		if adopted {
			action = "host.reenroll"
		}
		return tx.Audit("enroll-token:"+t.Prefix, action, "host:"+h.Hostname, map[string]any{"site": h.Site, "tier": h.Tier})
	})
	if err != nil {
		a.metrics.enrollFailures.Add(1)
		if patchwave.ErrorCode(err) == patchwave.EUnauthorized {
			a.limits.enrollFailed(client, now) // a guessed or stale token
		}
		return err
	}
	a.metrics.enrollments.Add(1)
	a.log.Info("agent enrolled", "host", h.Hostname, "host_id", h.ID, "site", h.Site)
	resp := patchwave.EnrollResponse{HostID: h.ID, Credential: cred, CheckinInterval: int(a.checkinInterval / time.Second)}
	if a.taskKey != nil {
		resp.ServerKey = a.taskKey.Public().(ed25519.PublicKey)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (a *API) checkin(w http.ResponseWriter, r *http.Request) error {
	st := agent(r)
	var req patchwave.CheckinRequest
	b, err := readBody(w, r, MaxAgentBody)
	if err != nil {
		return err
	}
	if err := decodeCheckin(b, &req); err != nil {
		return err
	}
	resp := patchwave.CheckinResponse{FactsHash: st.FactsHash, PackagesHash: st.PackagesHash,
		CheckinInterval: int(a.checkinInterval / time.Second)}
	if req.Packages != nil && req.Delta != nil {
		return patchwave.Errorf(patchwave.EInvalid, "send either packages or delta, not both")
	}

	var facts *patchwave.Facts
	if req.Facts != nil {
		if err := req.Facts.Validate(); err != nil {
			return err
		}
		facts = req.Facts
	} else if req.FactsHash != st.FactsHash {
		resp.NeedFacts = true
	}

	var pkgs []patchwave.Package
	switch {
	case req.Packages != nil:
		if err := patchwave.ValidatePackages(*req.Packages); err != nil {
			return err
		}
		pkgs = patchwave.SortPackages(*req.Packages)
	case req.Delta != nil:
		if req.BaseHash == "" || req.BaseHash != st.PackagesHash {
			resp.NeedPackages = true // the server holds another base: ask for the whole list
			break
		}
		if len(req.Delta.Added)+len(req.Delta.Removed) > patchwave.MaxPackages {
			return patchwave.Errorf(patchwave.EInvalid, "package delta has %d entries, at most %d allowed", len(req.Delta.Added)+len(req.Delta.Removed), patchwave.MaxPackages)
		}
		if err := patchwave.ValidatePackages(req.Delta.Added); err != nil {
			return err
		}
		base, err := a.store.PackageSet(r.Context(), req.BaseHash)
		if err != nil {
			return err
		}
		pkgs = patchwave.ApplyDelta(base, *req.Delta)
		if err := patchwave.ValidatePackages(pkgs); err != nil {
			return err
		}
		if req.PackagesHash != "" && patchwave.HashPackages(pkgs) != req.PackagesHash {
			pkgs, resp.NeedPackages = nil, true // the agent's base differs from ours after all
		}
	default:
		if req.PackagesHash != st.PackagesHash {
			resp.NeedPackages = true
		}
	}

	if facts != nil || pkgs != nil {
		err := a.store.Write(r.Context(), func(tx *store.Tx) error {
			if facts != nil {
				facts.UptimeSeconds = max(facts.UptimeSeconds, req.Uptime)
				if err := tx.SetFacts(st.HostID, *facts); err != nil {
					return err
				}
				resp.FactsHash = facts.Hash()
			}
			if pkgs != nil {
				h, err := tx.SetPackages(st.HostID, pkgs)
				if err != nil {
					return err
				}
				resp.PackagesHash = h
			}
			return nil
		})
		if err != nil {
			return err
		}
		a.metrics.reports.Add(1)
		if a.onInventory != nil {
			a.onInventory(st.HostID)
		}
	}
	if due, err := a.store.HasDueTasks(r.Context(), st.HostID); err != nil {
		return err
	} else if due {
		err := a.store.Write(r.Context(), func(tx *store.Tx) error {
			var err error
			resp.Tasks, err = tx.DispatchTasks(st.HostID)
			return err
		})
		if err != nil {
			return err
		}
		a.signTasks(resp.Tasks)
	}
	if a.waiters != nil {
		resp.Wait = a.agentWait
	}
	a.seen.Record(st.HostID, store.Seen{At: time.Now(), Uptime: req.Uptime})
	a.metrics.checkins.Add(1)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// taskResults stores what an agent reports about its tasks. Reports are
// idempotent by task and attempt; results for tasks the host does not
// have are acknowledged too (the agent may drop them) and logged.
func (a *API) taskResults(w http.ResponseWriter, r *http.Request) error {
	st := agent(r)
	var req patchwave.TaskResults
	if err := decode(w, r, MaxAgentBody, &req); err != nil {
		return err
	}
	if len(req.Results) == 0 {
		return patchwave.Errorf(patchwave.EInvalid, "results is empty")
	}
	if len(req.Results) > patchwave.MaxTaskResults {
		return patchwave.Errorf(patchwave.EInvalid, "%d results, at most %d at once", len(req.Results), patchwave.MaxTaskResults)
	}
	for _, res := range req.Results {
		if err := res.Validate(); err != nil {
			return err
		}
	}
	out := patchwave.TaskResultsResponse{Accepted: []int64{}}
	changed := false
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		out.Accepted, changed = out.Accepted[:0], false
		for _, res := range req.Results {
			known, ch, err := tx.ReportTask(st.HostID, res)
			if err != nil {
				return err
			}
			if !known {
				a.log.Warn("result for an unknown task", "host_id", st.HostID, "task", res.TaskID)
			}
			changed = changed || ch
			out.Accepted = append(out.Accepted, res.TaskID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if changed {
		a.rolloutChanged()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Seen collects check-ins in memory so that a check-in with nothing new
// costs no database write; the server flushes them in batches.
type Seen struct {
	mu sync.Mutex
	m  map[int64]store.Seen
}

// NewSeen returns an empty check-in buffer.
func NewSeen() *Seen { return &Seen{m: map[int64]store.Seen{}} }

// Record notes a check-in.
func (s *Seen) Record(hostID int64, v store.Seen) {
	s.mu.Lock()
	s.m[hostID] = v
	s.mu.Unlock()
}

// Take returns the check-ins noted since the last Take.
func (s *Seen) Take() map[int64]store.Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	s.m = make(map[int64]store.Seen, len(m))
	return m
}

// Putback returns check-ins that could not be written, unless newer ones arrived.
func (s *Seen) Putback(m map[int64]store.Seen) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, v := range m {
		if _, ok := s.m[id]; !ok {
			s.m[id] = v
		}
	}
}
