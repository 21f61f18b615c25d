package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// programVersion is the version of this build: the module version when
// built from a tagged module, else the VCS revision, else "devel".
func programVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

func runVersion(ctx context.Context, e env, args []string) error {
	v := newVerb("version", "", 0, "Print the version of this program and the Go release it was built with.",
		"patchwave version -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	info := struct {
		Version string `json:"version"`
		Go      string `json:"go"`
		OS      string `json:"os"`
		Arch    string `json:"arch"`
	}{programVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH}
	if *out == formatJSON {
		return writeJSON(e.stdout, info)
	}
	_, err := fmt.Fprintf(e.stdout, "patchwave %s (%s %s/%s)\n", info.Version, info.Go, info.OS, info.Arch)
	return err
}
