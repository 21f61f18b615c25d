package sched

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// TestRebootNotices: a day before each wave that may reboot its hosts
// starts, one notice per channel names the wave's hosts; not earlier,
// not twice, not for a wave that never reboots.
func TestRebootNotices(t *testing.T) {
	waves := testWaves()
	waves[2].Reboot = "never"
	r := newRig(t, waves)
	defer r.st.Close()
	ctx := context.Background()
	if err := r.st.Write(ctx, func(tx *store.Tx) error {
		return tx.CreateChannel(&store.Channel{Name: "users", Kind: "webhook", Config: []byte(`{"url":"http://127.0.0.1:1/"}`), CreatedBy: "test"})
	}); err != nil {
		t.Fatal(err)
	}
	released := r.rel.ReleasedAt
	var now time.Time
	r.st.SetClock(func() time.Time { return now })
	f := NewFollow(r.st, nil)
	for _, step := range []struct {
		at   time.Duration
		want int
	}{
		{-time.Minute, 0},                 // the lab wave starts a day after the release: not yet 24h before
		{time.Hour, 1},                    // within a day of the lab wave
		{2 * time.Hour, 0},                // queued already
		{2*24*time.Hour + time.Minute, 1}, // pilot starts at +3d
		{4*24*time.Hour + time.Minute, 0}, // early (+5d) never reboots
		{6*24*time.Hour + time.Minute, 1}, // broad at +7d
		{9*24*time.Hour + time.Minute, 0}, // mission-critical starts at +9d: past
	} {
		now = released.Add(step.at)
		res, err := f.TickResult(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.RebootNotices != step.want {
			t.Errorf("at +%s: %d notices, want %d", step.at, res.RebootNotices, step.want)
		}
	}
	items, err := r.st.ListOutbox(ctx, store.OutboxPending, 100)
	if err != nil || len(items) != 3 {
		t.Fatalf("outbox %d %v", len(items), err)
	}
	var n ticket.Notice
	if err := json.Unmarshal(items[len(items)-1].Payload, &n); err != nil {
		t.Fatal(err)
	}
	if n.Event != "wave.reboot-notice" || n.Wave != "lab" || len(n.Hosts) != 2 || !strings.HasPrefix(n.Hosts[0], "lab") || n.StartsAt == nil ||
		!n.StartsAt.Equal(released.Add(24*time.Hour)) {
		t.Errorf("lab notice %+v", n)
	}
}
