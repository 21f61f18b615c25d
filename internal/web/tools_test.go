package web_test

import (
	"os"
	"testing"
)

// missingTool skips a test for want of a tool, or fails it when
// PATCHWAVE_TEST_REQUIRE_TOOLS is set, as in CI, where a skip would hide
// that the test did not run.
func missingTool(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("PATCHWAVE_TEST_REQUIRE_TOOLS") != "" {
		t.Fatalf(format+" (PATCHWAVE_TEST_REQUIRE_TOOLS is set)", args...)
	}
	t.Skipf(format, args...)
}
