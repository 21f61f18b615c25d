package plan

import (
	"slices"
	"time"

	"github.com/patchwave/patchwave"
)

// AnyTime is the name of the openings of hosts without a maintenance
// window in a release that allows patching them at any time.
const AnyTime = "(any time)"

// WindowIndex answers window questions for many hosts at once: hosts that
// the same windows match share their openings, so each distinct set of
// windows is computed once. It is not safe for concurrent use.
type WindowIndex struct {
	windows []Window
	// anyTime, when set, replaces the open windows of hosts that have
	// none: an opening every day, cut by their freezes.
	anyTime bool
	sigs    map[string]sigEntry // signature → the windows of hosts with it
	next    map[nextKey]nextResult
	buf     []byte
}

type sigEntry struct {
	sig  string
	ws   []Window
	open bool
}

type nextKey struct {
	sig   string
	after int64
}

type nextResult struct {
	iv Interval
	ok bool
}

// NewWindowIndex indexes windows. With anyTime, hosts that no open window
// matches may be patched at any time outside their freezes.
func NewWindowIndex(windows []Window, anyTime bool) *WindowIndex {
	return &WindowIndex{windows: windows, anyTime: anyTime, sigs: map[string]sigEntry{}, next: map[nextKey]nextResult{}}
}

// lookup returns the windows that match h (with their selectors
// cleared: they matched) and whether one of them is open, shared by every
// host the same windows match.
func (x *WindowIndex) lookup(h patchwave.Host) (sig string, ws []Window, open bool) {
	x.buf = x.buf[:0]
	for i, w := range x.windows {
		if w.Selector.Matches(h) {
			x.buf = append(x.buf, byte(i), byte(i>>8), byte(i>>16))
			open = open || !w.Blocking
		}
	}
	if !open && x.anyTime {
		x.buf = append(x.buf, 0xff, 0xff, 0xff)
	}
	e, ok := x.sigs[string(x.buf)]
	if !ok {
		for _, w := range x.windows {
			if w.Selector.Matches(h) {
				w.Selector = patchwave.Selector{}
				e.ws = append(e.ws, w)
				e.open = e.open || !w.Blocking
			}
		}
		if !e.open && x.anyTime {
			e.ws = append(e.ws, Window{Name: AnyTime, RRule: MustParseRRule("FREQ=DAILY"),
				Start: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Duration: 24 * time.Hour})
			e.open = true
		}
		e.sig = string(x.buf)
		x.sigs[e.sig] = e
	}
	return e.sig, e.ws, e.open
}

// HasWindow reports whether some open (non-blocking) window matches h,
// or h may be patched at any time.
func (x *WindowIndex) HasWindow(h patchwave.Host) bool {
	_, _, open := x.lookup(h)
	return open
}

// NextOpening is NextOpening(windows, h, after), cached per signature.
func (x *WindowIndex) NextOpening(h patchwave.Host, after time.Time) (Interval, bool) {
	sig, ws, open := x.lookup(h)
	if !open {
		return Interval{}, false
	}
	key := nextKey{sig, after.UnixNano()}
	if r, ok := x.next[key]; ok {
		return r.iv, r.ok
	}
	iv, ok := NextOpening(ws, patchwave.Host{}, after)
	x.next[key] = nextResult{iv, ok}
	return iv, ok
}

// InWindow is InWindow(windows, h, t), cached per signature.
func (x *WindowIndex) InWindow(h patchwave.Host, t time.Time) (Interval, bool) {
	iv, ok := x.NextOpening(h, t)
	if !ok || iv.Start.After(t) {
		return Interval{}, false
	}
	return iv, true
}

// WavePlan is a wave's place in time: when it started, or when it is
// expected to.
type WavePlan struct {
	Order int       `json:"order"`
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	// Started says Start is the actual start, not a projection.
	Started bool `json:"started"`
	Hosts   int  `json:"hosts"`
}

// ProjectWaves returns when each wave starts: the actual start of the
// waves in started, and for the others the later of the release plus
// their start offset and the previous wave's start plus its soak time
// (the earliest its gate could pass).
func ProjectWaves(waves []Wave, released time.Time, started map[int]time.Time) []WavePlan {
	ws := slices.Clone(waves)
	slices.SortStableFunc(ws, func(a, b Wave) int { return a.Order - b.Order })
	out := make([]WavePlan, len(ws))
	var prev time.Time
	for i, w := range ws {
		p := WavePlan{Order: w.Order, Name: w.Name}
		if t, ok := started[w.Order]; ok && !t.IsZero() {
			p.Start, p.Started = t, true
		} else {
			p.Start = released.Add(w.StartOffset)
			if i > 0 {
				p.Start = maxTime(p.Start, prev.Add(ws[i-1].Soak))
			}
		}
		prev = p.Start
		out[i] = p
	}
	return out
}

// HostSlot is when and where a host gets its patches.
type HostSlot struct {
	HostID   int64  `json:"host_id"`
	Hostname string `json:"hostname"`
	Wave     int    `json:"wave"`
	PatchSet string `json:"patch_set,omitempty"`
	Patches  int    `json:"patches"`
	// Opening is the first opening of the host's windows from its wave's
	// start on; zero when there is none.
	Opening *Interval `json:"opening,omitempty"`
	// Reason says why the host has no opening: excluded, no wave, no
	// window.
	Reason string `json:"reason,omitempty"`
}

// Schedule lays out a release before (or while) it runs: each wave's
// start (ProjectWaves) and each host's first opening after it. hosts maps
// host ids to their current attributes (for the window selectors); a
// release host missing from it is reported as gone.
func Schedule(c ReleaseContent, waves []Wave, released time.Time, started map[int]time.Time, hosts map[int64]patchwave.Host, windows []Window, anyTime bool) ([]WavePlan, []HostSlot) {
	wp := ProjectWaves(waves, released, started)
	startOf := map[int]int{}
	for i, p := range wp {
		startOf[p.Order] = i
	}
	sizes := map[string]int{}
	for _, ps := range c.PatchSets {
		sizes[ps.Hash] = len(ps.Patches)
	}
	idx := NewWindowIndex(windows, anyTime)
	slots := make([]HostSlot, 0, len(c.Hosts))
	for _, rh := range c.Hosts {
		s := HostSlot{HostID: rh.HostID, Hostname: rh.Hostname, Wave: rh.Wave, PatchSet: rh.PatchSet, Patches: sizes[rh.PatchSet]}
		h, ok := hosts[rh.HostID]
		i, inWave := startOf[rh.Wave]
		switch {
		case rh.Excluded != "":
			s.Reason = "excluded: " + rh.Excluded
		case rh.Wave == NoWave || !inWave:
			s.Reason = "no wave takes the host"
		case !ok:
			s.Reason = "the host is gone or revoked"
		default:
			if iv, ok := idx.NextOpening(h, wp[i].Start); ok {
				wp[i].Hosts++
				s.Opening = &iv
			} else if idx.HasWindow(h) {
				wp[i].Hosts++
				s.Reason = "no opening of its windows in the next two years"
			} else {
				s.Reason = "no maintenance window matches the host, and the release does not allow patching at any time"
			}
		}
		slots = append(slots, s)
	}
	return wp, slots
}
