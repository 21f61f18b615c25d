//go:build unix

package pkgmgr

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// configureProcess runs the command in its own process group, so that a
// timeout stops the package manager's helpers (dpkg, rpm scriptlets) with
// it: SIGTERM to the group first, then exec's WaitDelay kills the leader.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}

// fcntlHolder reports whether another process (or open file description)
// holds an fcntl lock on path that would keep a writer out, as apt, dpkg
// and rpm take them, and the holder's pid (0 when the kernel does not say,
// as for open-file-description locks). A missing file is not locked.
func fcntlHolder(path string) (held bool, pid int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, 0, &fs.PathError{Op: "fcntl F_GETLK", Path: path, Err: err}
	}
	if lk.Type == syscall.F_UNLCK {
		return false, 0, nil
	}
	return true, max(int(lk.Pid), 0), nil
}

// pidFileHolder reports whether a pid file, as dnf keeps them while it
// holds a lock, names a live process, and which. dnf takes such a lock by
// writing its pid (under a brief flock) and frees it by removing the file;
// a file naming a dead process is stale and dnf takes it over.
func pidFileHolder(path string) (held bool, pid int, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false, 0, nil // empty or malformed: not a lock dnf honours
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil {
		return false, 0, nil
	}
	return true, pid, nil
}

// processName returns the command name of a process, "" when unknown.
func processName(pid int) string {
	if pid <= 0 {
		return ""
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
