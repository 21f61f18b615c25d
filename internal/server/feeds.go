package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/store"
)

// feeds synchronises and imports advisory and enrichment feeds.
type feeds struct{ s *Server }

// Import reads a feed file of the named feed and stores it whole, or
// nothing when any part of it is broken. The feed is created when new
// (kind is then required). A KEV or EPSS file that would replace the
// stored set by less than half of it is refused unless force.
func (f feeds) Import(ctx context.Context, name, kind, path string, force bool) (patchwave.Feed, error) {
	st := f.s.store
	existing, err := st.Feed(ctx, name)
	switch {
	case patchwave.ErrorCode(err) == patchwave.ENotFound:
		if kind == "" {
			return existing, patchwave.Errorf(patchwave.EInvalid, "feed %q is new: give its kind (%v)", name, patchwave.FeedKinds)
		}
	case err != nil:
		return existing, err
	case kind == "":
		kind = existing.Kind
	case kind != existing.Kind:
		return existing, patchwave.Errorf(patchwave.EConflict, "feed %q holds %s data, not %s", name, existing.Kind, kind)
	}
	res, err := f.s.importFile(ctx, name, kind, path, importOptions{label: "the uploaded file", force: force})
	if err != nil {
		_ = st.Write(ctx, func(tx *store.Tx) error { return tx.FeedAttempt(name, kind, 0, "", "", err) })
		return existing, err
	}
	f.s.log.Info("feed imported", "feed", name, "kind", kind, "records", res.records, "skipped", res.skipped)
	return st.Feed(ctx, name)
}

// Sync fetches the feed's URL (conditionally) and imports what changed.
// The download goes to a temporary file that replaces the cached copy
// only once it has been imported: a broken download leaves both the
// stored data and the cache as they were.
func (f feeds) Sync(ctx context.Context, name string) (patchwave.Feed, error) {
	st := f.s.store
	fd, err := st.Feed(ctx, name)
	if err != nil {
		return fd, err
	}
	if fd.URL == "" {
		return fd, patchwave.Errorf(patchwave.EInvalid, "feed %q has no URL to fetch: import its files instead", name)
	}
	dir := filepath.Join(f.s.cacheDir(), "feeds")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fd, err
	}
	dst := filepath.Join(dir, name)
	prev := feed.Validators{ETag: fd.ETag, LastModified: fd.LastModified}
	if _, err := os.Stat(dst); err != nil {
		prev = feed.Validators{} // no local copy: fetch it whole
	}
	tmp := dst + ".new"
	defer os.Remove(tmp)
	fetcher := &feed.Fetcher{Client: f.s.httpClient}
	res, err := fetcher.Fetch(ctx, fd.URL, prev, tmp)
	if err == nil && !res.NotModified {
		_, err = f.s.importFile(ctx, name, fd.Kind, tmp, importOptions{label: redactedURL(fd.URL), url: fd.URL,
			etag: res.Validators.ETag, lastModified: res.Validators.LastModified})
		if err == nil {
			err = os.Rename(tmp, dst)
		}
	}
	if err == nil && res.NotModified {
		err = st.Write(ctx, func(tx *store.Tx) error {
			return tx.FeedAttempt(name, fd.Kind, fd.Records, fd.ETag, fd.LastModified, nil)
		})
	}
	if err != nil {
		f.s.log.Warn("feed sync failed", "feed", name, "err", err)
		_ = st.Write(ctx, func(tx *store.Tx) error { return tx.FeedAttempt(name, fd.Kind, 0, "", "", err) })
		fd, _ = st.Feed(ctx, name)
		if patchwave.ErrorCode(err) == patchwave.EInternal {
			// A source that cannot be reached or read is the source's
			// problem, not ours: say what happened.
			return fd, patchwave.Errorf(patchwave.EUnavailable, "sync feed %s: %v", name, err)
		}
		return fd, err
	}
	return st.Feed(ctx, name)
}

// redactedURL is a feed URL fit for messages: without its password.
func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "the feed's source"
}

// importOptions say how importFile reads and stores a feed file.
type importOptions struct {
	label              string // names the file in errors: not a temporary path
	url                string // where the file came from, to resolve links in it
	etag, lastModified string // the source's validators, stored on success
	force              bool   // replace KEV or EPSS data even by much less
}

// importResult is what importFile stored.
type importResult struct {
	records int64    // what the feed holds now
	skipped int64    // records left out as invalid
	notes   []string // why, the first few
}

// minShrink is the smallest number of stored KEV entries or EPSS scores
// whose loss to a replacement counts as drastic (when it is over half).
const minShrink = 10

// checkShrink refuses to replace stored rows by fewer than half as many,
// the mark of a partial download that parsed (a CSV cut at a line
// boundary), unless forced.
func checkShrink(name, what string, stored, incoming int64, force bool) error {
	if force || incoming*2 >= stored || stored-incoming < minShrink {
		return nil
	}
	return patchwave.Errorf(patchwave.EConflict,
		"feed %s: the new file has %d %s where %d are stored: refused as a likely partial download (import it with --force, or force=true, to replace them)",
		name, incoming, what, stored)
}

// importFile parses a feed file and stores it in one transaction.
func (s *Server) importFile(ctx context.Context, name, kind, path string, o importOptions) (importResult, error) {
	var res importResult
	var changed []string
	var enrichment bool
	if o.label == "" {
		o.label = filepath.Base(path)
	}
	fail := func(err error) (importResult, error) {
		return importResult{}, patchwave.Errorf(patchwave.EInvalid, "feed %s: %v", name, err)
	}
	file, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("feed %s: open %s: %w", name, o.label, errors.Unwrap(err))
	}
	defer file.Close()
	switch kind {
	case patchwave.FeedOSV:
		var recs []store.RawAdvisory
		opts := feed.Options{Label: o.label}
		stats, err := opts.ReadOSV(ctx, path, func(entry string, a patchwave.Advisory) error {
			body, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("%s: %w", entry, err)
			}
			recs = append(recs, store.RawAdvisory{ID: a.ID, Modified: a.Modified, Withdrawn: a.Withdrawn != nil, Body: body})
			return nil
		})
		if err != nil {
			return fail(err)
		}
		res.skipped = int64(stats.Skipped)
		for _, e := range stats.Errors {
			res.notes = append(res.notes, e.Error())
		}
		if stats.Dropped > stats.Skipped && len(res.notes) > 0 {
			res.notes = append(res.notes, fmt.Sprintf("%d affected entries dropped in all", stats.Dropped))
		}
		if len(recs) == 0 && stats.Skipped > 0 {
			return fail(fmt.Errorf("every one of its %d records is invalid (first: %s)", stats.Skipped, res.notes[0]))
		}
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			var err error
			if changed, err = tx.PutAdvisories(name, recs); err != nil {
				return err
			}
			if res.records, err = tx.FeedRecords(name); err != nil {
				return err
			}
			if err := tx.FeedSkipped(name, res.skipped, res.notes); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, res.records, o.etag, o.lastModified, nil)
		})
		if err != nil {
			return importResult{}, err
		}
	case patchwave.FeedKEV:
		cat, err := feed.ParseKEV(file)
		if err != nil {
			return fail(err)
		}
		res.records, enrichment = int64(len(cat.Entries)), true
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			stored, err := tx.CountKEV()
			if err != nil {
				return err
			}
			if err := checkShrink(name, "KEV entries", stored, res.records, o.force); err != nil {
				return err
			}
			if err := tx.ReplaceKEV(cat.Entries); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, res.records, o.etag, o.lastModified, nil)
		})
		if err != nil {
			return importResult{}, err
		}
	case patchwave.FeedEPSS:
		_, scores, err := feed.ParseEPSS(file)
		if err != nil {
			return fail(err)
		}
		res.records, enrichment = int64(len(scores)), true
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			stored, err := tx.CountEPSS()
			if err != nil {
				return err
			}
			if err := checkShrink(name, "EPSS scores", stored, res.records, o.force); err != nil {
				return err
			}
			if err := tx.ReplaceEPSS(scores); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, res.records, o.etag, o.lastModified, nil)
		})
		if err != nil {
			return importResult{}, err
		}
	case patchwave.FeedMSRC:
		body, err := io.ReadAll(io.LimitReader(file, feed.MaxCVRFBytes+1))
		if err != nil {
			return importResult{}, fmt.Errorf("feed %s: read %s: %w", name, o.label, err)
		}
		var rels []feed.MSRCRelease
		if feed.IsMSRCUpdateList(body) {
			if o.url == "" {
				return fail(errors.New("this is MSRC's list of update documents: give its address as the feed's URL so that the server fetches the documents, or import the documents themselves"))
			}
			if rels, err = s.fetchMSRC(ctx, o.url, body); err != nil {
				return fail(err)
			}
		} else {
			rel, err := feed.ParseCVRF(bytes.NewReader(body))
			if err != nil {
				return fail(err)
			}
			rels = append(rels, rel)
		}
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			for _, rel := range rels {
				stored, _ := json.Marshal(rel)
				if err := tx.PutMSRC(rel.ID, rel.Released, stored); err != nil {
					return err
				}
			}
			var err error
			if res.records, err = tx.CountMSRC(); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, res.records, o.etag, o.lastModified, nil)
		})
		if err != nil {
			return importResult{}, err
		}
	case patchwave.FeedEOL:
		rows, err := feed.ParseEndOfLife(file, eolProduct(name))
		if err != nil {
			return fail(err)
		}
		res.records, enrichment = int64(len(rows)), true
		eols := make([]patchwave.EOL, len(rows))
		for i, r := range rows {
			eols[i] = patchwave.EOL{Product: r.Product, Cycle: r.Cycle, EOL: r.EOL, ExtendedEOL: r.ExtendedEOL, Source: name}
		}
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ReplaceEOL(eols); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, res.records, o.etag, o.lastModified, nil)
		})
		if err != nil {
			return importResult{}, err
		}
	default:
		return importResult{}, patchwave.Errorf(patchwave.EInvalid, "unknown feed kind %q", kind)
	}
	if s.assessor != nil {
		if len(changed) > 0 {
			s.assessor.advisoriesChanged(changed)
		}
		if enrichment {
			s.assessor.requestAll()
		}
	}
	return res, nil
}

// msrcRecent is how many of the newest documents of MSRC's update list
// a sync looks at: the current cadence needs the last months, not the
// archive back to 2016.
const msrcRecent = 12

// fetchMSRC reads MSRC's list of update documents (index, fetched from
// indexURL) and fetches and parses the documents among its msrcRecent
// newest that are not stored yet or were revised since they were
// imported. Any document that fails to download or parse fails the sync:
// nothing of it is stored.
func (s *Server) fetchMSRC(ctx context.Context, indexURL string, index []byte) ([]feed.MSRCRelease, error) {
	updates, err := feed.ParseMSRCUpdates(bytes.NewReader(index))
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(indexURL)
	if err != nil {
		return nil, err
	}
	imported, err := s.store.MSRCImported(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(updates, func(a, b feed.MSRCUpdate) int { return b.Released.Compare(a.Released) })
	updates = updates[:min(len(updates), msrcRecent)]
	dir, err := os.MkdirTemp(filepath.Join(s.cacheDir(), "feeds"), "msrc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fetcher := &feed.Fetcher{Client: s.httpClient, MaxBytes: feed.MaxCVRFBytes}
	var out []feed.MSRCRelease
	for _, u := range updates {
		if at, ok := imported[u.ID]; ok && !u.Updated.After(at) {
			continue
		}
		ref, err := url.Parse(u.URL)
		if err != nil {
			return nil, fmt.Errorf("MSRC update %s: CvrfUrl %.80q: %v", u.ID, u.URL, err)
		}
		src := base.ResolveReference(ref).String()
		dst := filepath.Join(dir, "doc")
		if _, err := fetcher.Fetch(ctx, src, feed.Validators{}, dst); err != nil {
			return nil, fmt.Errorf("MSRC update %s: %w", u.ID, err)
		}
		f, err := os.Open(dst)
		if err != nil {
			return nil, err
		}
		rel, err := feed.ParseCVRF(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("MSRC update %s (%s): %w", u.ID, redactedURL(src), err)
		}
		s.log.Info("MSRC document fetched", "id", rel.ID, "vulnerabilities", len(rel.Vulns))
		out = append(out, rel)
	}
	return out, nil
}

// eolProduct is the product an end-of-life feed describes: its name after
// "eol-" (eol-ubuntu), else the name itself.
func eolProduct(name string) string {
	if len(name) > 4 && name[:4] == "eol-" {
		return name[4:]
	}
	return name
}

// cacheDir is where downloaded feed files are kept.
func (s *Server) cacheDir() string {
	if s.cfg.Database == "" && s.cfg.DataDir != "" {
		return s.cfg.DataDir
	}
	return filepath.Join(os.TempDir(), "patchwave")
}

// feedTick is how often feedLoop looks for feeds due (tests lower it).
var feedTick = time.Minute

// feedLoop synchronises feeds whose interval has passed.
func (s *Server) feedLoop(ctx context.Context) {
	t := time.NewTicker(feedTick)
	defer t.Stop()
	for {
		s.syncDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) syncDue(ctx context.Context) {
	fs, err := s.store.Feeds(ctx)
	if err != nil {
		s.log.Warn("list feeds", "err", err)
		return
	}
	now := time.Now()
	for _, f := range fs {
		if f.URL == "" || f.Interval <= 0 {
			continue
		}
		if f.LastAttempt != nil && now.Sub(*f.LastAttempt) < time.Duration(f.Interval)*time.Second {
			continue
		}
		if _, err := (feeds{s}).Sync(ctx, f.Name); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduled feed sync failed", "feed", f.Name, "err", err)
		}
	}
}
