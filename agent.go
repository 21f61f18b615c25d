package patchwave

import "time"

// The agent protocol: what agents send to /api/v1/agent and what they get back.

// EnrollRequest is an agent's first call: an enrollment token and its facts.
type EnrollRequest struct {
	Token string `json:"token"`
	Facts Facts  `json:"facts"`
}

// EnrollResponse gives the agent its identity and its own credential.
// The credential is shown only here; the server keeps its hash.
type EnrollResponse struct {
	HostID     int64  `json:"host_id"`
	Credential string `json:"credential"`
	// CheckinInterval is how often to check in, in seconds.
	CheckinInterval int `json:"checkin_interval"`
	// ServerKey is the server's Ed25519 public key, which signs tasks:
	// the agent pins it.
	ServerKey []byte `json:"server_key,omitempty"`
}

// WaitRequest is an agent's long poll: answer when a task is due, or
// after Timeout seconds.
type WaitRequest struct {
	Timeout int `json:"timeout"`
}

// WaitResponse says whether tasks are due: check in now.
type WaitResponse struct {
	Due bool `json:"due"`
}

// MaxWait bounds a long poll, in seconds.
const MaxWait = 120

// CheckinRequest is sent on every check-in. Facts and packages are sent
// only when they changed since the server last acknowledged them: Facts in
// full, packages as a delta against BaseHash or, when the server asks, in full.
type CheckinRequest struct {
	FactsHash    string        `json:"facts_hash"`
	PackagesHash string        `json:"packages_hash"`
	Uptime       int64         `json:"uptime_seconds,omitempty"`
	Facts        *Facts        `json:"facts,omitempty"`
	Packages     *[]Package    `json:"packages,omitempty"` // the full list
	Delta        *PackageDelta `json:"delta,omitempty"`    // or the change from BaseHash
	BaseHash     string        `json:"base_hash,omitempty"`
}

// CheckinResponse tells the agent what the server now holds and when to come back.
type CheckinResponse struct {
	// FactsHash and PackagesHash are what the server has stored now; the
	// agent treats them as acknowledged.
	FactsHash    string `json:"facts_hash"`
	PackagesHash string `json:"packages_hash"`
	// NeedFacts and NeedPackages ask for a full report on the next call.
	NeedFacts    bool `json:"need_facts,omitempty"`
	NeedPackages bool `json:"need_packages,omitempty"`
	// CheckinInterval is how often to check in, in seconds.
	CheckinInterval int `json:"checkin_interval"`
	// Tasks are the tasks due on the host now; the same task comes again
	// on every check-in until the agent reports it started.
	Tasks []AgentTask `json:"tasks,omitempty"`
	// Wait, when not 0, invites the agent to long-poll /api/v1/agent/wait
	// for up to that many seconds between check-ins, so that a new task
	// reaches it at once.
	Wait int `json:"wait,omitempty"`
}

// Stale reports whether a host last seen at seen is stale at now.
func Stale(seen *time.Time, now time.Time, after time.Duration) bool {
	return seen != nil && after > 0 && now.Sub(*seen) > after
}
