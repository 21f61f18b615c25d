package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// WaveJSON is a wave as people write it and the API sends it: durations
// as Go durations ("48h", "30m") or days ("2d"), percentages as numbers.
type WaveJSON struct {
	Order            int                `json:"order"`
	Name             string             `json:"name"`
	Selector         patchwave.Selector `json:"selector,omitzero"`
	Hosts            []string           `json:"hosts,omitempty"`
	StartOffset      string             `json:"start_offset,omitempty"`
	MaxConcurrent    int                `json:"max_concurrent,omitempty"`
	MaxConcurrentPct float64            `json:"max_concurrent_pct,omitempty"`
	MaxErrors        int                `json:"max_errors,omitempty"`
	MaxErrorsPct     float64            `json:"max_errors_pct,omitempty"`
	Soak             string             `json:"soak,omitempty"`
	GateSuccessPct   float64            `json:"gate_success_pct,omitempty"`
	GateMinHosts     int                `json:"gate_min_hosts,omitempty"`
	// GateMaxReports, when given, holds the promotion while the wave's
	// hosts have more problem reports than that (0: any report holds it).
	GateMaxReports *int     `json:"gate_max_reports,omitempty"`
	Approvers      []string `json:"approvers,omitempty"`
	StartApprovers []string `json:"start_approvers,omitempty"`
	Reboot         string   `json:"reboot,omitempty"`
	Deadline       string   `json:"deadline,omitempty"`
	// RollbackOnFailure: an install whose verification fails goes back
	// to the previous versions.
	RollbackOnFailure bool `json:"rollback_on_failure,omitempty"`
}

// ParseDuration reads a duration: a Go duration ("36h", "90m") or a
// whole number of days ("2d"); "" is 0.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && fmt.Sprint(n) == d && n >= 0 && n <= 3660 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, patchwave.Errorf(patchwave.EInvalid, "%s %q: want a duration such as 48h, 90m or 2d", field, s)
	}
	return v, nil
}

// FormatDuration writes d as days when it is a whole number of them
// ("2d"), else as a Go duration; 0 is "".
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Wave converts w, checking its durations; Validate checks the rest.
func (w WaveJSON) Wave() (Wave, error) {
	out := Wave{Order: w.Order, Name: w.Name, Selector: w.Selector, Hosts: w.Hosts, MaxConcurrent: w.MaxConcurrent,
		MaxConcurrentPct: w.MaxConcurrentPct, MaxErrors: w.MaxErrors, MaxErrorsPct: w.MaxErrorsPct, GateSuccessPct: w.GateSuccessPct,
		GateMinHosts: w.GateMinHosts, Approvers: w.Approvers, StartApprovers: w.StartApprovers, Reboot: w.Reboot, RollbackOnFailure: w.RollbackOnFailure}
	var err error
	where := fmt.Sprintf("wave %d %q: ", w.Order, w.Name)
	if w.GateMaxReports != nil {
		if *w.GateMaxReports < 0 || *w.GateMaxReports > 100000 {
			return out, patchwave.Errorf(patchwave.EInvalid, "%sgate_max_reports %d: want 0 to 100000", where, *w.GateMaxReports)
		}
		out.GateReports, out.GateMaxReports = true, *w.GateMaxReports
	}
	if out.StartOffset, err = ParseDuration(where+"start_offset", w.StartOffset); err != nil {
		return out, err
	}
	if out.Soak, err = ParseDuration(where+"soak", w.Soak); err != nil {
		return out, err
	}
	if out.Deadline, err = ParseDuration(where+"deadline", w.Deadline); err != nil {
		return out, err
	}
	return out, nil
}

// JSON returns w's JSON form.
func (w Wave) JSON() WaveJSON {
	j := WaveJSON{Order: w.Order, Name: w.Name, Selector: w.Selector, Hosts: w.Hosts, StartOffset: FormatDuration(w.StartOffset),
		MaxConcurrent: w.MaxConcurrent, MaxConcurrentPct: w.MaxConcurrentPct, MaxErrors: w.MaxErrors, MaxErrorsPct: w.MaxErrorsPct,
		Soak: FormatDuration(w.Soak), GateSuccessPct: w.GateSuccessPct, GateMinHosts: w.GateMinHosts, Approvers: w.Approvers,
		StartApprovers: w.StartApprovers, Reboot: w.Reboot, Deadline: FormatDuration(w.Deadline), RollbackOnFailure: w.RollbackOnFailure}
	if w.GateReports {
		n := w.GateMaxReports
		j.GateMaxReports = &n
	}
	return j
}

// WavesJSON returns the JSON forms of ws.
func WavesJSON(ws []Wave) []WaveJSON {
	out := make([]WaveJSON, len(ws))
	for i, w := range ws {
		out[i] = w.JSON()
	}
	return out
}

// ParseWaves reads a JSON array of waves (unknown fields refused) and
// checks them with ValidWaves.
func ParseWaves(b []byte) ([]Wave, error) {
	var in []WaveJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, patchwave.Errorf(patchwave.EInvalid, "waves: %v", err)
	}
	return WavesFromJSON(in)
}

// WavesFromJSON converts and checks waves.
func WavesFromJSON(in []WaveJSON) ([]Wave, error) {
	out := make([]Wave, len(in))
	for i, w := range in {
		var err error
		if out[i], err = w.Wave(); err != nil {
			return nil, err
		}
	}
	if err := ValidWaves(out); err != nil {
		return nil, err
	}
	return out, nil
}
