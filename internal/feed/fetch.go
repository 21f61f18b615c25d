package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/patchwave/patchwave"
)

// DefaultMaxFetchBytes is the size limit of one fetched file when
// Fetcher.MaxBytes is 0. osv.dev's largest all.zip is well under it.
const DefaultMaxFetchBytes = 4 << 30

// Validators are what a source said about the version of a file, sent
// back to it on the next fetch so that an unchanged file is not
// downloaded again.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"` // as the server wrote it (HTTP date)
}

// Result is the outcome of a fetch.
type Result struct {
	Validators        // of the file now at dst (prev's when NotModified)
	Bytes       int64 // bytes written to dst; 0 when NotModified
	NotModified bool  // the source has not changed since prev: dst was left alone
}

// Fetcher downloads advisory sources into local files, safely: a file is
// replaced only by a complete, size-checked, synced copy, so a broken or
// partial download never replaces good data.
type Fetcher struct {
	Client   *http.Client // nil means http.DefaultClient
	MaxBytes int64        // largest file accepted; 0 means DefaultMaxFetchBytes
	// UserAgent is sent to HTTP servers; "" means "patchwave".
	UserAgent string
}

// Fetch brings dst up to date with source, an http(s) URL, a file:// URL
// or a plain local path (for air-gapped sites that carry feeds in).
//
// Over HTTP it makes a conditional GET with prev's validators (If-None-
// Match, If-Modified-Since): 304 gives Result{NotModified: true} and
// leaves dst alone; 200 streams the body into a temporary file next to
// dst, checks it is complete (as long as Content-Length says, when the
// server says) and within MaxBytes, syncs it and renames it over dst.
// Any other status is an error with code EUnavailable (5xx, 429 with
// ETooMany), ENotFound (404, 410) or EInvalid.
//
// A local source is copied the same way; its validators are derived from
// its size and modification time, so an unchanged file is not copied
// again. On any error dst is left as it was. Callers pass prev only when
// they hold the version it describes, whether at dst or elsewhere: dst
// may be a temporary name that they rename once the file is checked.
func (f *Fetcher) Fetch(ctx context.Context, source string, prev Validators, dst string) (Result, error) {
	if dst == "" {
		return Result{}, patchwave.Errorf(patchwave.EInvalid, "fetch %s: no destination", source)
	}
	u, err := url.Parse(source)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return f.fetchHTTP(ctx, u, prev, dst)
	}
	path := source
	if err == nil && u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return Result{}, patchwave.Errorf(patchwave.EInvalid, "fetch %s: file URL with a remote host", source)
		}
		path = filepath.FromSlash(u.Path)
	} else if err == nil && len(u.Scheme) > 1 { // "C:\..." parses with scheme "c"
		return Result{}, patchwave.Errorf(patchwave.EInvalid, "fetch %s: unsupported scheme %q (http, https, file or a path)", u.Redacted(), u.Scheme)
	}
	return f.fetchFile(ctx, path, prev, dst)
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxFetchBytes
}

func (f *Fetcher) fetchHTTP(ctx context.Context, u *url.URL, prev Validators, dst string) (Result, error) {
	name := u.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Result{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	ua := f.UserAgent
	if ua == "" {
		ua = "patchwave"
	}
	req.Header.Set("User-Agent", ua)
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusNotModified:
		v := prev
		if e := resp.Header.Get("ETag"); e != "" {
			v.ETag = e
		}
		if lm := resp.Header.Get("Last-Modified"); lm != "" {
			v.LastModified = lm
		}
		return Result{Validators: v, NotModified: true}, nil
	case resp.StatusCode != http.StatusOK:
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		code := patchwave.EInvalid
		switch {
		case resp.StatusCode >= 500:
			code = patchwave.EUnavailable
		case resp.StatusCode == http.StatusTooManyRequests:
			code = patchwave.ETooMany
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			code = patchwave.ENotFound
		}
		return Result{}, patchwave.Errorf(code, "fetch %s: HTTP %s: %s", name, resp.Status, strings.TrimSpace(printable(snippet)))
	}
	max := f.maxBytes()
	if resp.ContentLength > max {
		return Result{}, patchwave.Errorf(patchwave.ETooLarge, "fetch %s: %d bytes announced, at most %d allowed", name, resp.ContentLength, max)
	}
	n, err := writeAtomic(dst, resp.Body, max, resp.ContentLength)
	if err != nil {
		return Result{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	return Result{Validators: Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, Bytes: n}, nil
}

// printable keeps an error body snippet readable and one line.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return ' '
		}
		return r
	}, string(b))
}

func (f *Fetcher) fetchFile(ctx context.Context, path string, prev Validators, dst string) (Result, error) {
	src, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("fetch: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("fetch: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Result{}, patchwave.Errorf(patchwave.EInvalid, "fetch %s: not a regular file", path)
	}
	if fi.Size() > f.maxBytes() {
		return Result{}, patchwave.Errorf(patchwave.ETooLarge, "fetch %s: %d bytes, at most %d allowed", path, fi.Size(), f.maxBytes())
	}
	v := Validators{
		ETag:         `"` + strconv.FormatInt(fi.Size(), 16) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 16) + `"`,
		LastModified: fi.ModTime().UTC().Format(http.TimeFormat),
	}
	dfi, derr := os.Stat(dst)
	if derr == nil && os.SameFile(fi, dfi) {
		return Result{Validators: v, Bytes: fi.Size()}, nil // already in place
	}
	if prev.ETag != "" && prev.ETag == v.ETag {
		// As over HTTP, prev says the caller has this version already
		// (dst may be a temporary name that does not exist yet).
		return Result{Validators: v, NotModified: true}, nil
	}
	n, err := writeAtomic(dst, &ctxReader{ctx: ctx, r: src}, f.maxBytes(), fi.Size())
	if err != nil {
		return Result{}, fmt.Errorf("fetch %s: %w", path, err)
	}
	return Result{Validators: v, Bytes: n}, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writeAtomic copies r into a temporary file next to dst, checks that it
// got want bytes (when want >= 0) and no more than max, syncs it and
// renames it over dst. On error the temporary file is removed and dst is
// untouched.
func writeAtomic(dst string, r io.Reader, max, want int64) (n int64, err error) {
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err = io.Copy(tmp, io.LimitReader(r, max+1))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, patchwave.Errorf(patchwave.EUnavailable, "truncated: connection closed after %d bytes: %v", n, err)
	case err != nil:
		return n, err
	case n > max:
		return n, patchwave.Errorf(patchwave.ETooLarge, "over %d bytes: refused", max)
	case want >= 0 && n != want:
		return n, patchwave.Errorf(patchwave.EUnavailable, "truncated: %d bytes of %d", n, want)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return n, err
	}
	if err = tmp.Sync(); err != nil {
		return n, err
	}
	if err = tmp.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return n, err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return n, nil
}
