package sched

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// DefaultRebootLead is how long before a wave may start that its hosts'
// people hear it may reboot them.
const DefaultRebootLead = 24 * time.Hour

// rebootNotices queues, once per release and wave, a notice that a wave
// that may reboot its hosts starts within lead: its hosts and their
// owners, for the people who use them. It returns how many it queued.
func (f *Follow) rebootNotices(ctx context.Context, now time.Time) (int, error) {
	lead := f.RebootLead
	if lead <= 0 {
		lead = DefaultRebootLead
	}
	rels, err := f.Store.ListReleases(ctx, true)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, r := range rels {
		if r.State != patchwave.RolloutScheduled && r.State != patchwave.RolloutRunning {
			continue
		}
		waves, err := plan.ParseWaves(r.Waves)
		if err != nil {
			return queued, fmt.Errorf("release %s waves: %w", r.Name, err)
		}
		var due []plan.Wave
		for _, w := range waves {
			start := r.ReleasedAt.Add(w.StartOffset)
			if w.Reboot != plan.RebootNever && !now.Before(start.Add(-lead)) && now.Before(start) {
				due = append(due, w)
			}
		}
		if len(due) == 0 {
			continue
		}
		hosts, err := f.Store.ReleaseHosts(ctx, r.ID)
		if err != nil {
			return queued, err
		}
		fleet, err := f.Store.AllHosts(ctx)
		if err != nil {
			return queued, err
		}
		owner := map[int64]string{}
		for _, h := range fleet {
			owner[h.ID] = h.Owner
		}
		for _, w := range due {
			var names []string
			for _, h := range hosts {
				if h.Wave == w.Order && h.PatchSet != "" {
					n := h.Hostname
					if o := owner[h.HostID]; o != "" {
						n += " (owner " + o + ")"
					}
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				continue
			}
			start := r.ReleasedAt.Add(w.StartOffset).UTC()
			text := fmt.Sprintf("Release %s, wave %d (%s), may start at %s and reboot %d hosts: %s",
				r.Name, w.Order, w.Name, start.Format(time.RFC3339), len(names), strings.Join(names[:min(len(names), 10)], ", "))
			if len(names) > 10 {
				text += fmt.Sprintf(" and %d more", len(names)-10)
			}
			b, err := json.Marshal(ticket.Notice{Event: "wave.reboot-notice", Text: text, Release: r.Name, Wave: w.Name, StartsAt: &start, Hosts: names})
			if err != nil {
				return queued, err
			}
			err = f.Store.Write(ctx, func(tx *store.Tx) error {
				n, err := tx.Enqueue("wave.reboot-notice", fmt.Sprintf("reboot-notice:%d:%d:%d", r.ID, w.Order, start.UnixMilli()), b)
				queued += n
				return err
			})
			if err != nil {
				return queued, err
			}
		}
	}
	return queued, nil
}
