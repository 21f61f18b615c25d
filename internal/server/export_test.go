package server

import "time"

// SetFeedTick makes feed loops started from now on tick every d, and
// returns what restores the default.
func SetFeedTick(d time.Duration) (restore func()) {
	old := feedTick
	feedTick = d
	return func() { feedTick = old }
}
