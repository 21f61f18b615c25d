package osinfo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPro(t *testing.T) {
	root := t.TempDir()
	if Pro(root) {
		t.Error("empty root is Pro")
	}
	dir := filepath.Join(root, "var/lib/ubuntu-advantage")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "status.json"), []byte(`{"attached": false}`), 0o644)
	if Pro(root) {
		t.Error("detached host is Pro")
	}
	os.WriteFile(filepath.Join(dir, "status.json"), []byte(`{"attached": true, "services": []}`), 0o644)
	if !Pro(root) {
		t.Error("attached host is not Pro")
	}
	os.WriteFile(filepath.Join(dir, "status.json"), []byte(`{not json`), 0o644)
	if Pro(root) {
		t.Error("corrupt status is Pro")
	}
	apt := filepath.Join(root, "etc/apt/sources.list.d")
	os.MkdirAll(apt, 0o755)
	os.WriteFile(filepath.Join(apt, "ubuntu-esm-infra.list"), []byte("deb https://esm.example/infra/ubuntu jammy-infra-security main\n"), 0o644)
	if !Pro(root) {
		t.Error("ESM source not seen")
	}
}
