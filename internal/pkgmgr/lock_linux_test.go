package pkgmgr

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// fOFDSetlk is F_OFD_SETLK: a lock owned by the open file description, so
// that it conflicts with the fcntl locks of every other descriptor, even
// in this process (a classic POSIX lock would not conflict with our own
// F_GETLK probe). apt, dpkg and rpm in other processes see it as any lock.
const fOFDSetlk = 37

// holdLock takes a real write lock on path, as another apt or rpm would,
// and returns the function that releases it.
func holdLock(t testing.TB, path string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(f.Fd(), fOFDSetlk, &lk); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			f.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// holdPidLock holds dnf's kind of lock on path: the file names a live
// process (a sleep this test starts) until release.
func holdPidLock(t testing.TB, path string) (pid int, release func()) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(release)
	return cmd.Process.Pid, release
}
