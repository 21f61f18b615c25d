package osinfo

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Pro reports whether the system under root receives a vendor's extended
// security fixes: attached to Ubuntu Pro (the Pro client's status says
// so) or with an Ubuntu ESM apt source. Such hosts are matched against
// the Ubuntu:Pro advisories too.
func Pro(root string) bool {
	if b, err := os.ReadFile(filepath.Join(root, "var/lib/ubuntu-advantage/status.json")); err == nil && len(b) < 16<<20 {
		var st struct {
			Attached bool `json:"attached"`
		}
		if json.Unmarshal(b, &st) == nil && st.Attached {
			return true
		}
	}
	m, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/ubuntu-esm-*"))
	return len(m) > 0
}
