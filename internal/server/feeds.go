package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/store"
)

// feeds synchronises and imports advisory and enrichment feeds.
type feeds struct{ s *Server }

// Import reads a feed file of the named feed and stores it whole, or
// nothing when any part of it is broken. The feed is created when new
// (kind is then required).
func (f feeds) Import(ctx context.Context, name, kind, path string) (patchwave.Feed, error) {
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
	n, err := f.s.importFile(ctx, name, kind, path, "", "")
	if err != nil {
		_ = st.Write(ctx, func(tx *store.Tx) error { return tx.FeedAttempt(name, kind, 0, "", "", err) })
		return existing, err
	}
	f.s.log.Info("feed imported", "feed", name, "kind", kind, "records", n)
	return st.Feed(ctx, name)
}

// Sync fetches the feed's URL (conditionally) and imports what changed.
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
	fetcher := &feed.Fetcher{Client: f.s.httpClient}
	res, err := fetcher.Fetch(ctx, fd.URL, prev, dst)
	if err == nil && !res.NotModified {
		_, err = f.s.importFile(ctx, name, fd.Kind, dst, res.Validators.ETag, res.Validators.LastModified)
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

// importFile parses a feed file and stores it in one transaction.
func (s *Server) importFile(ctx context.Context, name, kind, path, etag, lastModified string) (int64, error) {
	var records int64
	var changed []string
	var enrichment bool
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	switch kind {
	case patchwave.FeedOSV:
		var recs []store.RawAdvisory
		_, err := feed.ReadOSV(ctx, path, func(entry string, a patchwave.Advisory) error {
			body, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("%s: %w", entry, err)
			}
			recs = append(recs, store.RawAdvisory{ID: a.ID, Modified: a.Modified, Withdrawn: a.Withdrawn != nil, Body: body})
			return nil
		})
		if err != nil {
			return 0, patchwave.Errorf(patchwave.EInvalid, "feed %s: %v", name, err)
		}
		records = int64(len(recs))
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			var err error
			if changed, err = tx.PutAdvisories(name, recs); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, records, etag, lastModified, nil)
		})
		if err != nil {
			return 0, err
		}
	case patchwave.FeedKEV:
		cat, err := feed.ParseKEV(file)
		if err != nil {
			return 0, patchwave.Errorf(patchwave.EInvalid, "feed %s: %v", name, err)
		}
		records, enrichment = int64(len(cat.Entries)), true
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ReplaceKEV(cat.Entries); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, records, etag, lastModified, nil)
		})
		if err != nil {
			return 0, err
		}
	case patchwave.FeedEPSS:
		_, scores, err := feed.ParseEPSS(file)
		if err != nil {
			return 0, patchwave.Errorf(patchwave.EInvalid, "feed %s: %v", name, err)
		}
		records, enrichment = int64(len(scores)), true
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ReplaceEPSS(scores); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, records, etag, lastModified, nil)
		})
		if err != nil {
			return 0, err
		}
	case patchwave.FeedMSRC:
		body, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		rel, err := feed.ParseCVRF(bytes.NewReader(body))
		if err != nil {
			return 0, patchwave.Errorf(patchwave.EInvalid, "feed %s: %v", name, err)
		}
		records = int64(len(rel.Vulns))
		stored, _ := json.Marshal(rel)
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			if err := tx.PutMSRC(rel.ID, rel.Released, stored); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, records, etag, lastModified, nil)
		})
		if err != nil {
			return 0, err
		}
	case patchwave.FeedEOL:
		rows, err := feed.ParseEndOfLife(file, eolProduct(name))
		if err != nil {
			return 0, patchwave.Errorf(patchwave.EInvalid, "feed %s: %v", name, err)
		}
		records, enrichment = int64(len(rows)), true
		eols := make([]patchwave.EOL, len(rows))
		for i, r := range rows {
			eols[i] = patchwave.EOL{Product: r.Product, Cycle: r.Cycle, EOL: r.EOL, ExtendedEOL: r.ExtendedEOL, Source: name}
		}
		err = s.store.Write(ctx, func(tx *store.Tx) error {
			if err := tx.ReplaceEOL(eols); err != nil {
				return err
			}
			return tx.FeedAttempt(name, kind, records, etag, lastModified, nil)
		})
		if err != nil {
			return 0, err
		}
	default:
		return 0, patchwave.Errorf(patchwave.EInvalid, "unknown feed kind %q", kind)
	}
	if s.assessor != nil {
		if len(changed) > 0 {
			s.assessor.advisoriesChanged(changed)
		}
		if enrichment {
			s.assessor.requestAll()
		}
	}
	return records, nil
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

// feedLoop synchronises feeds whose interval has passed.
func (s *Server) feedLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
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
