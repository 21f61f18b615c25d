package store

// PolicyWindow is the kind of maintenance windows among the policy
// objects; each has a unique name.
const PolicyWindow = "window"
