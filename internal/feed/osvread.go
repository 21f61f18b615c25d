package feed

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/patchwave/patchwave"
)

// Limits on an OSV archive, checked against the bytes actually
// decompressed, never against the sizes the archive claims. A
// distribution's all.zip (Debian, Ubuntu) decompresses to a few hundred
// MB; OSV JSON compresses 3 to 15 times.
const (
	MaxZipEntries    = 2_000_000 // entries in one archive (osv.dev's largest has ~500,000)
	MaxZipTotalBytes = 1 << 30   // uncompressed bytes read from one archive

	// MaxCompressionRatio bounds how many times its compressed size an
	// entry, or the whole archive, may expand to, once past
	// ratioFloor bytes: more is a zip bomb, and the read ends.
	MaxCompressionRatio = 100
)

// ratioFloor is the decompressed size below which an entry, and
// ratioFloorTotal the one below which an archive, is not held to
// MaxCompressionRatio: tiny or repetitive records compress very well.
const (
	ratioFloor      = 1 << 20
	ratioFloorTotal = 64 << 20
)

// defaultMaxErrors is how many errors Stats keeps when Options.MaxErrors is 0.
const defaultMaxErrors = 20

// Options change how ReadOSV and ReadOSVZip read records. The zero value
// is the strict default: the first malformed record ends the read.
type Options struct {
	// SkipInvalid makes a malformed record count in Stats.Skipped (its
	// error kept in Stats.Errors, up to MaxErrors) instead of ending the
	// read. Errors about the container itself — an unreadable file, a
	// corrupt or hostile archive, a limit exceeded — always end the read.
	SkipInvalid bool

	// MaxErrors is how many record errors Stats.Errors keeps; 0 means 20.
	MaxErrors int

	// Ecosystems, when not empty, is a cheap prefilter: a record is
	// decoded only if its raw bytes contain `"` followed by one of these
	// prefixes, as in "ecosystem": "Ubuntu:22.04:LTS" for the prefix
	// "Ubuntu:22.04". Other records are counted in Stats.Filtered and never
	// decoded. A prefilter only: a record that passes may still affect
	// other ecosystems too (filter affected[] when matching), and a prefix
	// also matches longer names ("Debian:1" matches "Debian:12"). Ubuntu
	// Pro fixes need their own prefix ("Ubuntu:Pro:22.04").
	Ecosystems []string

	// Workers is how many records are read and decoded at once; 0 means
	// GOMAXPROCS. Records reach the callback in the same order whatever
	// the number.
	Workers int

	// MaxEntries and MaxTotalBytes lower the archive limits
	// (MaxZipEntries, MaxZipTotalBytes) when positive.
	MaxEntries    int
	MaxTotalBytes int64

	// Label names the source in errors instead of its path, as "feed
	// debian" for a file the server received into a temporary file.
	Label string
}

// Stats counts what a read saw.
type Stats struct {
	Records   int // records passed to the callback, withdrawn ones included
	Withdrawn int // of Records, those with a withdrawn time
	Filtered  int // records the Ecosystems prefilter left out
	// Skipped counts the records left out: malformed ones under
	// SkipInvalid, and (always) those whose every affected entry was
	// dropped as Dropped says.
	Skipped int
	// Dropped counts the affected entries removed from records because
	// their ecosystem has no known version ordering or a version in them
	// is invalid in it (see CheckVersions).
	Dropped int
	Errors  []error // the first Options.MaxErrors errors of skipped records and dropped entries (*RecordError)
	Bytes   int64   // uncompressed bytes read
}

// ReadOSV reads the OSV records at path with the default Options: see
// Options.ReadOSV.
func ReadOSV(ctx context.Context, path string, fn func(name string, a patchwave.Advisory) error) (Stats, error) {
	return Options{}.ReadOSV(ctx, path, fn)
}

// ReadOSVZip reads the OSV records in a zip archive with the default
// Options: see Options.ReadOSVZip.
func ReadOSVZip(ctx context.Context, r io.ReaderAt, size int64, fn func(name string, a patchwave.Advisory) error) (Stats, error) {
	return Options{}.ReadOSVZip(ctx, r, size, fn)
}

// ReadOSV reads the OSV records at path and calls fn with each valid one,
// one call at a time, in a deterministic order: path may be a single
// record (a .json file), a directory (every *.json file below it, in
// lexical order of their paths) or a zip archive like osv.dev's all.zip
// (every *.json entry, in lexical order of the entry names; recognised by
// its magic bytes). name is the file's path relative to the directory, the
// entry's name in an archive, or the file's base name.
//
// Withdrawn records are passed on (and counted) so that a store can
// retract what it held; the matcher must skip them.
//
// A malformed record ends the read with a *RecordError naming it, unless
// o.SkipInvalid. An error from fn, or ctx's, ends the read and is
// returned as it is. Records are read and decoded in parallel by
// o.Workers goroutines, a bounded number ahead of the callback.
func (o Options) ReadOSV(ctx context.Context, path string, fn func(name string, a patchwave.Advisory) error) (Stats, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Stats{}, fmt.Errorf("read OSV: %w", err)
	}
	label := path
	if o.Label != "" {
		label = o.Label
	}
	if fi.IsDir() {
		st, err := o.readDir(ctx, path, fn)
		return st, wrapPath(label, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("read OSV: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if n == 4 && string(magic[:]) == "PK\x03\x04" || strings.EqualFold(filepath.Ext(path), ".zip") {
		st, err := o.readZip(ctx, f, fi.Size(), fn)
		return st, wrapPath(label, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Stats{}, fmt.Errorf("read OSV: %w", err)
	}
	name := filepath.Base(path)
	if o.Label != "" {
		name = "" // the label says it all; a temporary name would not
	}
	st, err := o.run(ctx, 1, func(int) string { return name }, func(_ int, sc *scratch) (int64, error) {
		return readCapped(f, &sc.out, fi.Size(), MaxRecordBytes)
	}, fn)
	return st, wrapPath(label, err)
}

// wrapPath prefixes err with the file or archive it came from, except for
// the caller's own errors (context, callback) which pass through as they are.
func wrapPath(path string, err error) error {
	var ce *callbackError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return ce.err
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("read OSV %s: %w", path, err)
}

// ReadOSVZip is ReadOSV over a zip archive already at hand (downloaded,
// in memory): r and size as for zip.NewReader. Entries are refused when
// their name is absolute or has a ".." element; the number of entries,
// each entry's size (MaxRecordBytes) and the total decompressed
// (MaxZipTotalBytes) are capped by counting the bytes actually read, so a
// zip bomb ends the read with an error.
func (o Options) ReadOSVZip(ctx context.Context, r io.ReaderAt, size int64, fn func(name string, a patchwave.Advisory) error) (Stats, error) {
	st, err := o.readZip(ctx, r, size, fn)
	label := "zip archive"
	if o.Label != "" {
		label = o.Label
	}
	return st, wrapPath(label, err)
}

func (o Options) readZip(ctx context.Context, r io.ReaderAt, size int64, fn func(name string, a patchwave.Advisory) error) (Stats, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Stats{}, fmt.Errorf("open zip: %w", err)
	}
	maxEntries := MaxZipEntries
	if o.MaxEntries > 0 {
		maxEntries = o.MaxEntries
	}
	if len(zr.File) > maxEntries {
		return Stats{}, patchwave.Errorf(patchwave.EInvalid, "zip has %d entries, at most %d allowed", len(zr.File), maxEntries)
	}
	files := make([]*zip.File, 0, len(zr.File))
	for _, f := range zr.File {
		if err := checkEntryName(f.Name); err != nil {
			return Stats{}, err
		}
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		files = append(files, f)
	}
	slices.SortStableFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	// The whole archive may not expand more than MaxCompressionRatio
	// times either, however small each of its entries.
	if byRatio := max(ratioFloorTotal, size*MaxCompressionRatio); o.MaxTotalBytes <= 0 || byRatio < o.MaxTotalBytes {
		o.MaxTotalBytes = min(byRatio, MaxZipTotalBytes)
	}
	return o.run(ctx, len(files), func(i int) string { return files[i].Name }, func(i int, sc *scratch) (int64, error) {
		return readEntry(files[i], size, sc)
	}, fn)
}

// maxCompressed bounds the compressed size of one record: deflate adds at
// most 5 bytes per 64 KiB stored block.
const maxCompressed = MaxRecordBytes + MaxRecordBytes/1024 + 1024

// readEntry decompresses one archive entry into sc.out. Stored and
// deflated entries (all of osv.dev's) are read with one ReadAt into
// reused buffers and a reused decompressor, and their CRC-32 and size
// checked as archive/zip would; other methods go through archive/zip.
func readEntry(f *zip.File, archiveSize int64, sc *scratch) (int64, error) {
	if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64/MaxCompressionRatio > f.CompressedSize64 {
		return 0, patchwave.Errorf(patchwave.EInvalid, "entry says it expands from %d to %d bytes, over %d times: refused (zip bomb?)",
			f.CompressedSize64, f.UncompressedSize64, MaxCompressionRatio)
	}
	if f.UncompressedSize64 > MaxRecordBytes {
		return 0, tooLarge(fmt.Sprint(f.UncompressedSize64))
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		rc, err := f.Open()
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		return readCapped(rc, &sc.out, int64(f.UncompressedSize64), MaxRecordBytes)
	}
	if f.CompressedSize64 > maxCompressed || f.CompressedSize64 > uint64(archiveSize) {
		return 0, tooLarge(fmt.Sprintf("%d compressed", f.CompressedSize64))
	}
	rr, err := f.OpenRaw()
	if err != nil {
		return 0, err
	}
	size := int(f.CompressedSize64)
	if cap(sc.raw) < size {
		sc.raw = make([]byte, size)
	}
	raw := sc.raw[:size]
	if _, err := io.ReadFull(rr, raw); err != nil {
		return 0, fmt.Errorf("read compressed data: %w", err)
	}
	var src io.Reader = bytes.NewReader(raw)
	if f.Method == zip.Deflate {
		if sc.flate == nil {
			sc.flate = flate.NewReader(src)
		} else if err := sc.flate.(flate.Resetter).Reset(src, nil); err != nil {
			return 0, err
		}
		src = sc.flate
	}
	// An entry may expand MaxCompressionRatio times, or to ratioFloor
	// bytes, and never past MaxRecordBytes: a bomb is stopped after at
	// most that much work.
	limit := int64(MaxRecordBytes)
	if byRatio := max(ratioFloor, int64(size)*MaxCompressionRatio); byRatio < limit {
		limit = byRatio
	}
	n, err := readCapped(src, &sc.out, int64(f.UncompressedSize64), limit)
	if _, ok := err.(*RecordError); ok && limit < MaxRecordBytes {
		return n, patchwave.Errorf(patchwave.EInvalid,
			"entry expands over %d times its %d compressed bytes: refused (zip bomb?)", MaxCompressionRatio, size)
	}
	if err != nil {
		return n, err
	}
	if uint64(n) != f.UncompressedSize64 {
		return n, patchwave.Errorf(patchwave.EInvalid, "%d bytes where the archive says %d", n, f.UncompressedSize64)
	}
	if f.CRC32 != 0 && crc32.ChecksumIEEE(sc.out.Bytes()) != f.CRC32 {
		return n, zip.ErrChecksum
	}
	return n, nil
}

// checkEntryName refuses archive entry names that could escape a
// directory if anyone ever extracted them: absolute, with a drive or a
// ".." element, or with a NUL.
func checkEntryName(name string) error {
	bad := name == "" || strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) ||
		strings.ContainsRune(name, 0) || (len(name) >= 2 && name[1] == ':')
	for _, el := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		bad = bad || el == ".."
	}
	if bad {
		return patchwave.Errorf(patchwave.EInvalid, "zip entry %q: absolute or parent-relative names are refused", name)
	}
	return nil
}

// tooLarge is the error for one record over MaxRecordBytes: a malformed
// record (SkipInvalid may skip it), not a broken container.
func tooLarge(what string) error {
	return &RecordError{Err: patchwave.Errorf(patchwave.EInvalid, "record is %s bytes, at most %d allowed", what, MaxRecordBytes)}
}

// readCapped reads all of r into buf (reset first), expecting about hint
// bytes, and fails once more than limit bytes arrive. It returns the
// number of bytes read.
func readCapped(r io.Reader, buf *bytes.Buffer, hint, limit int64) (int64, error) {
	buf.Reset()
	if hint > 0 && hint <= limit {
		buf.Grow(int(hint) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, tooLarge(fmt.Sprintf("over %d", limit))
	}
	return n, nil
}

func (o Options) readDir(ctx context.Context, root string, fn func(name string, a patchwave.Advisory) error) (Stats, error) {
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	slices.Sort(names) // WalkDir's order is lexical per directory, not of whole paths
	return o.run(ctx, len(names), func(i int) string { return names[i] }, func(i int, sc *scratch) (int64, error) {
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(names[i])))
		if err != nil {
			return 0, err
		}
		defer f.Close()
		var hint int64
		if fi, err := f.Stat(); err == nil {
			hint = fi.Size()
		}
		return readCapped(f, &sc.out, hint, MaxRecordBytes)
	}, fn)
}

// scratch is one worker's reusable memory.
type scratch struct {
	out   bytes.Buffer  // the record, uncompressed
	raw   []byte        // the record, compressed
	flate io.ReadCloser // a flate decompressor, reset for each record
}

// result is one record read and decoded by a worker.
type result struct {
	adv      patchwave.Advisory
	filtered bool
	ioErr    error // reading the container failed: always fatal
	recErr   error // the record is malformed
	dropped  []error
	empty    bool // every affected entry was dropped
	n        int64
}

// callbackError carries an error from the caller's fn through run so that
// it is returned unwrapped.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// run reads n records with read(i, buf), decodes them in parallel and
// calls fn in index order. At most a window of records is in flight at
// once, so memory stays bounded however slow fn is.
func (o Options) run(ctx context.Context, n int, name func(int) string, read func(int, *scratch) (int64, error),
	fn func(string, patchwave.Advisory) error) (Stats, error) {
	var st Stats
	maxErrors := o.MaxErrors
	if maxErrors <= 0 {
		maxErrors = defaultMaxErrors
	}
	maxTotal := int64(MaxZipTotalBytes)
	if o.MaxTotalBytes > 0 {
		maxTotal = o.MaxTotalBytes
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	prefixes := make([][]byte, len(o.Ecosystems))
	for i, e := range o.Ecosystems {
		prefixes[i] = []byte(`"` + e)
	}

	ctx, cancel := context.WithCancel(ctx)
	var total atomic.Int64

	window := workers * 16
	slots := make([]chan result, window)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	tokens := make(chan struct{}, window)
	jobs := make(chan int)
	var wg sync.WaitGroup
	wg.Go(func() { // dispatcher: at most window records between dispatch and delivery
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			var sc scratch
			for i := range jobs {
				slots[i%window] <- decodeOne(i, &sc, read, prefixes, &total, maxTotal)
			}
		})
	}
	defer func() { // stop the dispatcher; workers finish their record and stop
		cancel()
		wg.Wait()
	}()

	for i := range n {
		var r result
		select {
		case r = <-slots[i%window]:
		case <-ctx.Done():
			return st, context.Cause(ctx)
		}
		<-tokens
		st.Bytes += r.n
		nm := name(i)
		switch {
		case r.ioErr != nil:
			return st, &RecordError{Name: nm, Err: r.ioErr}
		case r.filtered:
			st.Filtered++
			continue
		case r.recErr != nil:
			err := r.recErr
			if re, ok := err.(*RecordError); ok {
				re.Name = nm
			} else {
				err = &RecordError{Name: nm, Err: err}
			}
			if !o.SkipInvalid {
				return st, err
			}
			st.Skipped++
			if len(st.Errors) < maxErrors {
				st.Errors = append(st.Errors, err)
			}
			continue
		}
		if len(r.dropped) > 0 {
			st.Dropped += len(r.dropped)
			for _, err := range r.dropped {
				if re, ok := err.(*RecordError); ok {
					re.Name = nm
				}
				if len(st.Errors) < maxErrors {
					st.Errors = append(st.Errors, err)
				}
			}
			if r.empty {
				st.Skipped++
				continue
			}
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Records++
		if r.adv.Withdrawn != nil {
			st.Withdrawn++
		}
		if err := fn(nm, r.adv); err != nil {
			return st, &callbackError{err}
		}
	}
	return st, nil
}

// decodeOne reads record i, applies the prefilter and decodes it.
func decodeOne(i int, sc *scratch, read func(int, *scratch) (int64, error), prefixes [][]byte,
	total *atomic.Int64, maxTotal int64) result {
	n, err := read(i, sc)
	if t := total.Add(n); t > maxTotal {
		return result{n: n, ioErr: patchwave.Errorf(patchwave.EInvalid,
			"archive decompresses to over %d bytes: refused (zip bomb?)", maxTotal)}
	}
	if err != nil {
		if _, ok := err.(*RecordError); ok { // one oversized record
			return result{n: n, recErr: err}
		}
		return result{n: n, ioErr: err}
	}
	b := sc.out.Bytes()
	if len(prefixes) > 0 && !containsAny(b, prefixes) {
		return result{n: n, filtered: true}
	}
	a, err := ParseOSV(b)
	if err != nil {
		return result{n: n, recErr: err}
	}
	dropped, keep := checkRecord(&a)
	return result{n: n, adv: a, dropped: dropped, empty: !keep}
}

func containsAny(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}
