//go:build !unix

package pkgmgr

import (
	"errors"
	"os/exec"
)

var errNoLocks = errors.New("lock detection is not supported on this operating system")

func configureProcess(*exec.Cmd) {}

func fcntlHolder(string) (bool, int, error) { return false, 0, errNoLocks }

func pidFileHolder(string) (bool, int, error) { return false, 0, errNoLocks }

func processName(int) string { return "" }
