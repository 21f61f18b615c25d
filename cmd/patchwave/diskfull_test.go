package main_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDiskFull runs the server with a file size limit (ulimit -f), so
// that its database cannot grow past a few megabytes, and writes until it
// is full: writes fail with an error, the server keeps answering reads,
// and after a restart without the limit the database passes SQLite's
// integrity check (patchwave backup runs it) and holds every write that
// was acknowledged.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	bin := build(t)
	data := filepath.Join(t.TempDir(), "data")
	// 12 MB: room for the schema and the first imports, not for all.
	cmd := exec.Command("sh", "-c", `ulimit -f 24576 && exec "$0" server --data-dir "$1" --listen 127.0.0.1:0 --no-rollouts`, bin, data)
	cmd.Env = append(os.Environ(), "PATCHWAVE_ADMIN_PASSWORD=e2e-admin-password")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var log bytes.Buffer
	sc := bufio.NewScanner(stderr)
	var url string
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`url=(http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		t.Fatalf("server did not start:\n%s", log.String())
	}
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
		}
	}()
	token := loginHTTP(t, url, "admin", "e2e-admin-password")
	post := func(path, ctype string, body []byte) (int, string) {
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Import advisories, 500 KB a file, until the database is full.
	var acked []string
	full := false
	for i := 0; i < 200 && !full; i++ {
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		for j := range 400 {
			f, _ := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("TEST-%d-%d.json", i, j), Method: zip.Store})
			fmt.Fprintf(f, `{"id":"TEST-%d-%d","modified":"2026-12-01T00:00:00Z","summary":%q,"affected":[{"package":{"ecosystem":"Debian:12","name":"pkg%d"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.%d"}]}]}]}`,
				i, j, strings.Repeat("filler text ", 80), j, i)
		}
		zw.Close()
		name := fmt.Sprintf("feed%03d", i)
		st, body := post("/api/v1/feeds/"+name+"/import?kind=osv", "application/zip", zb.Bytes())
		switch {
		case st < 300:
			acked = append(acked, name)
		case st >= 500:
			full = true
			t.Logf("import %s when full: %d %s", name, st, body)
			if st != http.StatusServiceUnavailable || !strings.Contains(body, "nothing of this change was stored") || strings.Contains(body, "TEST-") {
				t.Errorf("the answer when full: %d %s; want 503 saying nothing was stored", st, body)
			}
		default:
			t.Fatalf("import %s: %d %s", name, st, body)
		}
	}
	if !full {
		t.Fatalf("the database never filled up (%d imports)", len(acked))
	}
	// Reads still work.
	req, _ := http.NewRequest("GET", url+"/api/v1/feeds", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("reading feeds when full: %v %v", resp, err)
	}
	resp.Body.Close()
	cmd.Process.Kill()
	cmd.Wait()
	<-logDone
	if t.Failed() {
		t.Logf("server log:\n%s", log.String())
	}

	// Without the limit: intact, with every acknowledged import.
	backup := filepath.Join(t.TempDir(), "check.db")
	out, err := exec.Command(bin, "backup", "--data-dir", data, "-o", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("backup (integrity check) after the disk was full: %v\n%s", err, out)
	}
	url2 := startServerArgs(t, bin, "--data-dir", data, "--no-rollouts")
	token = loginHTTP(t, url2, "admin", "e2e-admin-password")
	req, _ = http.NewRequest("GET", url2+"/api/v1/feeds", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range acked {
		if !strings.Contains(string(b), `"`+name+`"`) {
			t.Errorf("acknowledged import %s is gone after the restart", name)
		}
	}
	t.Logf("%d imports acknowledged before the database was full, all there after a restart", len(acked))
}

// loginHTTP signs in over the API and returns the token.
func loginHTTP(t *testing.T, url, user, password string) string {
	t.Helper()
	resp, err := http.Post(url+"/api/v1/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return out.Token
}
