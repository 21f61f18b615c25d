package feed

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the shared/data directory of real public records and
// skips the test when it is absent. PATCHWAVE_SHARED_DATA overrides the
// default, which is relative to this package's directory.
func sharedData(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	p := filepath.Join(dir, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data not found (set PATCHWAVE_SHARED_DATA to the shared/data directory): %v", err)
	}
	return p
}

// readShared reads one file of the shared data, skipping when absent.
func readShared(t testing.TB, sub string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedData(t, sub))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
