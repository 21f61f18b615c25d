package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// feedVerbs is the verb table of "patchwave feeds".
func feedVerbs() []command {
	return []command{
		{"status", "show every feed: kind, source, last success, record count and last error", runFeedsStatus},
		{"add", "add or change a feed the server fetches on a schedule", runFeedsAdd},
		{"sync", "make the server fetch feeds now", runFeedsSync},
		{"import", "send feed files (OSV json/dir/zip, KEV, EPSS, MSRC, end of life) to the server", runFeedsImport},
		{"delete", "delete a feed (its records stay)", runFeedsDelete},
	}
}

func runFeedsStatus(ctx context.Context, e env, args []string) error {
	v := newVerb("feeds status", "", 0, "Show every feed and the state of its last synchronisation.", "patchwave feeds status -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	fs, err := c.Feeds(ctx)
	if err != nil {
		return fmt.Errorf("feeds: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, fs)
	}
	now := time.Now()
	t := newTable(e.stdout, "NAME", "KIND", "SOURCE", "EVERY", "LAST SUCCESS", "RECORDS", "ERROR")
	for _, f := range fs {
		every := ""
		if f.Interval > 0 {
			every = (time.Duration(f.Interval) * time.Second).String()
		}
		src := f.URL
		if src == "" {
			src = "(import)"
		}
		records := strconv.FormatInt(f.Records, 10)
		if f.Skipped > 0 {
			records += fmt.Sprintf(" (%d skipped)", f.Skipped)
		}
		t.row(f.Name, f.Kind, src, every, ago(f.LastSuccess, now, "never"), records, f.Error)
	}
	return t.flush()
}

func runFeedsAdd(ctx context.Context, e env, args []string) error {
	v := newVerb("feeds add", "NAME", 1, `Add a feed, or change one. With --url the server fetches it every --interval
(conditionally: unchanged sources are not downloaded again); the URL may also be a
path on the server's machine. Kinds: osv (a JSON record, a directory or an all.zip),
kev, epss, msrc, eol (end-of-life dates; name the feed eol-PRODUCT, e.g. eol-ubuntu).`,
		`patchwave feeds add ubuntu --kind osv --url https://example.org/osv/Ubuntu/all.zip
patchwave feeds add kev --kind kev --url https://example.org/known_exploited_vulnerabilities.json --interval 24h`)
	kind := v.String("kind", "", "feed `kind`: "+strings.Join(patchwave.FeedKinds, ", "))
	url := v.String("url", "", "`URL` or server path to fetch; empty for a feed filled by imports only")
	interval := v.String("interval", "", "how often to fetch, e.g. 6h (default 6h with --url)")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if *kind == "" {
		return v.usageErrorf("--kind is required")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	f, err := c.PutFeed(ctx, client.FeedRequest{Name: pos[0], Kind: *kind, URL: *url, Interval: *interval})
	if err != nil {
		return fmt.Errorf("add feed %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Feed %s (%s) saved.\n", f.Name, f.Kind)
	return nil
}

func runFeedsSync(ctx context.Context, e env, args []string) error {
	v := newVerb("feeds sync", "[NAME...]", 0, "Make the server fetch the named feeds now (all feeds with a URL when none is named).",
		"patchwave feeds sync\npatchwave feeds sync ubuntu kev")
	v.nargs = -1
	names, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fs, err := c.Feeds(ctx)
		if err != nil {
			return fmt.Errorf("feeds: %w", err)
		}
		for _, f := range fs {
			if f.URL != "" {
				names = append(names, f.Name)
			}
		}
		if len(names) == 0 {
			return fmt.Errorf("no feed has a URL: add one with patchwave feeds add NAME --kind KIND --url URL")
		}
	}
	failed := 0
	for _, n := range names {
		f, err := c.SyncFeed(ctx, n)
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "patchwave: sync %s: %v\n", n, err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: %d records\n", f.Name, f.Records)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d feeds failed to sync", failed, len(names))
	}
	return nil
}

func runFeedsImport(ctx context.Context, e env, args []string) error {
	v := newVerb("feeds import", "PATH...", 1, `Send feed files to the server, for sites without Internet access. Each PATH is a
file: an OSV record (.json) or archive (.zip), the KEV catalogue, an EPSS CSV
(.csv or .csv.gz), a Microsoft CVRF document, or end-of-life data. A directory of
OSV records is zipped on the fly. The server stores a file whole or not at all.`,
		`patchwave feeds import --feed ubuntu --kind osv all.zip
patchwave feeds import --feed kev --kind kev known_exploited_vulnerabilities.json`)
	v.nargs = -1
	name := v.String("feed", "", "`name` of the feed the files belong to (created when new)")
	kind := v.String("kind", "", "feed `kind` for a new feed: "+strings.Join(patchwave.FeedKinds, ", "))
	force := v.Bool("force", false, "replace the stored KEV or EPSS data even by a file of less than half as many entries")
	paths, err := v.parse(args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return v.usageErrorf("missing PATH")
	}
	if *name == "" {
		return v.usageErrorf("--feed is required")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	for _, p := range paths {
		body, cleanup, err := openFeedFile(p)
		if err != nil {
			return err
		}
		f, err := c.ImportFeedWith(ctx, *name, client.ImportOptions{Kind: *kind, Force: *force}, body)
		cleanup()
		if err != nil {
			return fmt.Errorf("import %s: %w", p, err)
		}
		fmt.Fprintf(e.stdout, "%s: imported into feed %s (%s), which holds %d records\n", p, f.Name, f.Kind, f.Records)
		if f.Skipped > 0 || len(f.Warnings) > 0 {
			fmt.Fprintf(e.stderr, "patchwave: %s: %d invalid records skipped\n", p, f.Skipped)
			for _, w := range f.Warnings {
				fmt.Fprintf(e.stderr, "  %s\n", w)
			}
		}
	}
	return nil
}

func runFeedsDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("feeds delete", "NAME", 1, "Delete a feed. The records it brought stay until replaced.", "patchwave feeds delete old-mirror")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeleteFeed(ctx, pos[0]); err != nil {
		return fmt.Errorf("delete feed %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Feed %s deleted.\n", pos[0])
	return nil
}

// openFeedFile opens a feed file, or zips a directory of OSV records.
func openFeedFile(path string) (*os.File, func(), error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	tmp, err := os.CreateTemp("", "patchwave-feed-*.zip")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if err := zipDir(tmp, path); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("zip %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		cleanup()
		return nil, nil, err
	}
	return tmp, cleanup, nil
}
