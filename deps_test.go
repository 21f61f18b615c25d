package patchwave_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules enforces the layering: the vocabulary imports only the
// standard library; the agent side never reaches storage or the server;
// the store speaks no HTTP; the API and UI run no SQL themselves.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command("go", "list", "-deps", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/patchwave/patchwave"
	deps := map[string][]string{}
	std := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Standard   bool
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		deps[p.ImportPath], std[p.ImportPath] = p.Deps, p.Standard
	}
	for _, d := range deps[mod] {
		if !std[d] {
			t.Errorf("the root package imports %s: it may import only the standard library", d)
		}
	}
	forbid := func(pkg string, bad ...string) {
		for _, d := range deps[mod+"/"+pkg] {
			for _, b := range bad {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s imports %s", pkg, d)
				}
			}
		}
	}
	agentSide := []string{mod + "/internal/store", mod + "/internal/api", mod + "/internal/web", mod + "/internal/server",
		"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx/v5"}
	for _, p := range []string{"internal/agent", "internal/pkgmgr", "internal/osinfo", "internal/client"} {
		if _, ok := deps[mod+"/"+p]; !ok {
			t.Errorf("package %s not found", p)
		}
		forbid(p, agentSide...)
	}
	forbid("internal/store", "net/http")
	forbid("internal/web", "database/sql")
	for pkg := range deps {
		if !strings.HasPrefix(pkg, mod+"/internal/") {
			continue
		}
		for _, d := range deps[pkg] {
			if d == "database/sql" && !slices.Contains([]string{"store", "store/storetest", "server", "cli", "bench", "api", "sched", "notify"}, strings.TrimPrefix(pkg, mod+"/internal/")) {
				t.Errorf("%s imports database/sql directly", pkg)
			}
		}
	}
}
