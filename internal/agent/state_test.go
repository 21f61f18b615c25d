package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestStateRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	want := State{HostID: 7, Server: "https://pw.example", Credential: "secret", FactsHash: "f", PackagesHash: "p",
		EnrolledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Interval: 600, ServerKey: []byte{1, 2, 3}}
	if err := SaveState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadState = %+v, want %+v", got, want)
	}
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("state file mode = %v, want 0600", m)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("state dir mode = %v, want 0700", m)
	}
}

func TestSaveStateTightensMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	// An old file with loose permissions is replaced by a 0600 one.
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveState(dir, State{HostID: 1, Credential: "c"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("state file mode = %v, want 0600", m)
	}
}

func TestLoadStateMissing(t *testing.T) {
	_, err := LoadState(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadState of an empty dir: %v, want fs.ErrNotExist", err)
	}
}

func TestLoadStateCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":     `{"host_id": 3, "cred`,
		"not json":      "hello\n",
		"empty":         "",
		"no credential": `{"host_id": 3, "server": "http://x"}`,
		"no host":       `{"credential": "c", "server": "http://x"}`,
		"trailing":      `{"host_id": 3, "credential": "c"} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadState(dir)
			if err == nil {
				t.Fatal("LoadState succeeded on a corrupt file")
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a corrupt file looks missing (the agent would enroll again silently): %v", err)
			}
			if !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), StateFile) {
				t.Errorf("error %q does not say the state file is corrupt", err)
			}
		})
	}
}

// TestSaveStateAtomic checks that readers racing with writers only ever see
// a whole state, and that no temporary files are left behind.
func TestSaveStateAtomic(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 64<<10) // large enough that a torn write would show
	if err := SaveState(dir, State{HostID: 1, Credential: long}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 1)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s, err := LoadState(dir)
			if err != nil || s.Credential != long {
				select {
				case errc <- errors.Join(err, errors.New("torn read")):
				default:
				}
				return
			}
		}
	})
	for i := range 50 {
		if err := SaveState(dir, State{HostID: int64(i + 1), Credential: long}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != StateFile {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("state dir holds %v, want only %s", names, StateFile)
	}
}

func TestSaveStateFailureKeepsOld(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		t.Skip("needs Unix permissions enforced (not root)")
	}
	dir := t.TempDir()
	if err := SaveState(dir, State{HostID: 1, Credential: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if err := SaveState(dir, State{HostID: 1, Credential: "new"}); err == nil {
		t.Fatal("SaveState into a read-only dir succeeded")
	}
	s, err := LoadState(dir)
	if err != nil || s.Credential != "old" {
		t.Errorf("after a failed save: %+v, %v; want the old state", s, err)
	}
}

func TestBase(t *testing.T) {
	dir := t.TempDir()
	ps := patchwave.SortPackages([]patchwave.Package{
		{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "amd64", Source: "zlib"},
		{Name: "bash", Version: "5.2.15-2+b2", Arch: "amd64"},
	})
	h := patchwave.HashPackages(ps)
	if _, err := loadBase(dir, h); err == nil {
		t.Error("loadBase of a missing file succeeded")
	}
	if err := saveBase(dir, ps); err != nil {
		t.Fatal(err)
	}
	got, err := loadBase(dir, h)
	if err != nil {
		t.Fatal(err)
	}
	if patchwave.HashPackages(got) != h || len(got) != 2 {
		t.Errorf("loadBase = %v", got)
	}
	if _, err := loadBase(dir, "other"); err == nil {
		t.Error("loadBase with another hash succeeded")
	}
	if err := os.WriteFile(filepath.Join(dir, BaseFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBase(dir, h); err == nil {
		t.Error("loadBase of a damaged file succeeded")
	}
}

func TestDecodePackages(t *testing.T) {
	ps := patchwave.SortPackages([]patchwave.Package{
		{Name: "a", Version: "1", Arch: "amd64", Source: "s", SourceVersion: "0"},
		{Name: "b", Version: "2"},
		{Name: "c", Version: "1:3", Arch: "all", Source: "src"},
	})
	got, err := decodePackages(string(patchwave.EncodePackages(ps)))
	if err != nil {
		t.Fatal(err)
	}
	if patchwave.HashPackages(got) != patchwave.HashPackages(ps) || len(got) != len(ps) {
		t.Errorf("decodePackages = %v, want %v", got, ps)
	}
	if got, err := decodePackages(""); err != nil || len(got) != 0 {
		t.Errorf("decodePackages(\"\") = %v, %v", got, err)
	}
	for _, bad := range []string{"a\t1\t\t\t", "a\t1\t\t\n", "a\t1\t\t\t\t\n"} {
		if _, err := decodePackages(bad); err == nil {
			t.Errorf("decodePackages(%q) succeeded", bad)
		}
	}
}

func BenchmarkLoadBase3000(b *testing.B) {
	ps := make([]patchwave.Package, 3000)
	for i := range ps {
		ps[i] = patchwave.Package{Name: fmt.Sprintf("pkg-%05d", i), Version: fmt.Sprintf("1:%d.%d-1", i%7, i%13), Arch: "amd64"}
	}
	ps = patchwave.SortPackages(ps)
	dir := b.TempDir()
	if err := saveBase(dir, ps); err != nil {
		b.Fatal(err)
	}
	h := patchwave.HashPackages(ps)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loadBase(dir, h); err != nil {
			b.Fatal(err)
		}
	}
}
