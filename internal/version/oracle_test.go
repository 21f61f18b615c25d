package version

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The oracle tests compare the comparators with the real tools on random
// versions, when the tools are installed. They are skipped in -short mode.

// TestDpkgOracle checks CompareDpkg and Valid against dpkg
// --compare-versions.
func TestDpkgOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs dpkg: skipped in -short mode")
	}
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg is not installed")
	}
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	compared, refused := 0, 0
	for range 400 {
		a := genDpkg(r)
		b := mutate(r, a, genDpkg)
		want, syntaxErr, err := dpkgCompare(dpkg, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if syntaxErr != "" {
			// dpkg refuses one of them: so must Valid.
			refused++
			if Dpkg.Validate(a) == nil && Dpkg.Validate(b) == nil {
				t.Errorf("Valid accepts %q and %q, dpkg says: %s", a, b, syntaxErr)
			}
			continue
		}
		compared++
		if got := CompareDpkg(a, b); got != want {
			t.Errorf("CompareDpkg(%q, %q) = %d, dpkg says %d", a, b, got, want)
		}
	}
	t.Logf("%d pairs agree with %s, %d refused by both", compared, dpkg, refused)
}

// dpkgCompare runs dpkg --compare-versions. A version that dpkg refuses
// (not one it only warns about) yields its error message.
func dpkgCompare(dpkg, a, b string) (result int, syntaxErr string, err error) {
	for _, op := range [...]struct {
		name   string
		result int
	}{{"lt", -1}, {"eq", 0}} {
		out, err := exec.Command(dpkg, "--compare-versions", a, op.name, b).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return op.result, "", nil
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			continue // false
		case errors.As(err, &exit) && bytes.Contains(out, []byte("error")):
			return 0, strings.TrimSpace(string(out)), nil
		default:
			return 0, "", fmt.Errorf("dpkg --compare-versions %q %s %q: %v: %s", a, op.name, b, err, out)
		}
	}
	return 1, "", nil
}

// TestRPMOracle checks CompareRPM against rpm's own comparison, rpm.vercmp
// in rpm's embedded Lua (rpmverCmp), on many random pairs in one run.
func TestRPMOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs rpm: skipped in -short mode")
	}
	rpm, err := exec.LookPath("rpm")
	if err != nil {
		t.Skip("rpm is not installed")
	}
	t.Parallel()
	r := rand.New(rand.NewPCG(8, 8))
	var pairs [][2]string
	for len(pairs) < 20000 {
		a := genRPM(r)
		b := mutate(r, a, genRPM)
		if b == "" {
			continue // rpm refuses the empty string
		}
		pairs = append(pairs, [2]string{a, b})
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "pairs"), filepath.Join(dir, "results")
	var buf bytes.Buffer
	for _, p := range pairs {
		fmt.Fprintf(&buf, "%s\t%s\n", p[0], p[1])
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const script = `%{lua:
local o = io.open(os.getenv("PW_OUT"), "w")
for line in io.lines(os.getenv("PW_IN")) do
  local a, b = line:match("^(.-)\t(.*)$")
  local ok, r = pcall(rpm.vercmp, a, b)
  o:write(ok and tostring(r) or "error", "\n")
end
o:close()
}`
	cmd := exec.Command(rpm, "--eval", script)
	cmd.Env = append(os.Environ(), "PW_IN="+in, "PW_OUT="+out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("rpm cannot run Lua here: %v: %s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		if i >= len(pairs) {
			t.Fatalf("rpm gave more results than pairs")
		}
		want, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("rpm.vercmp(%q, %q): %s", pairs[i][0], pairs[i][1], sc.Text())
		}
		if got := CompareRPM(pairs[i][0], pairs[i][1]); got != want {
			t.Errorf("CompareRPM(%q, %q) = %d, rpm says %d", pairs[i][0], pairs[i][1], got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(pairs) {
		t.Fatalf("rpm gave %d results for %d pairs", i, len(pairs))
	}
	t.Logf("%d pairs agree with %s", len(pairs), rpm)
}
