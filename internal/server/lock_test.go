package server_test

import (
	"strings"
	"sync"
)

var logMu sync.Mutex

// lockedWriter lets concurrent handlers log into one builder.
type lockedWriter struct{ b *strings.Builder }

func (w *lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return w.b.Write(p)
}

// logs returns what the server logged so far.
func (ts *testServer) logs() string {
	logMu.Lock()
	defer logMu.Unlock()
	return ts.Log.String()
}
