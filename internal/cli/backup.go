package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/patchwave/patchwave/internal/store"
)

// dbFile is the embedded database's file in a data directory.
const dbFile = "patchwave.db"

// runBackup runs "patchwave backup": an online copy of the embedded database.
func runBackup(ctx context.Context, e env, args []string) error {
	v := newVerb("backup", "", 0, `Write a consistent copy of the server's embedded SQLite database to a new file.
It is safe while the server runs: the copy is one snapshot of the database, compacted.
A PostgreSQL database is backed up with pg_dump instead (pg_dump -Fc -f patchwave.dump URL).`,
		"patchwave backup --data-dir /var/lib/patchwave -o /backup/patchwave-$(date +%F).db")
	dataDir := v.String("data-dir", "data", "the server's data directory")
	out := v.String("o", "", "the backup `file` to write (must not exist)")
	database := v.String("database", e.getenv("PATCHWAVE_DATABASE"), "the server's PostgreSQL URL, if it uses one (env PATCHWAVE_DATABASE)")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *database != "" {
		return errors.New("backup: the server uses PostgreSQL: back it up with pg_dump -Fc -f patchwave.dump \"$PATCHWAVE_DATABASE\", restore with pg_restore")
	}
	if *out == "" {
		return v.usageErrorf("-o FILE is required")
	}
	src := filepath.Join(*dataDir, dbFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no database in %s: %w", *dataDir, err)
	}
	s, err := store.Open(ctx, src)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer s.Close()
	start := time.Now()
	if err := s.Backup(ctx, *out); err != nil {
		return err
	}
	version, err := store.CheckBackup(ctx, *out)
	if err != nil {
		return fmt.Errorf("backup written but it does not check out: %w", err)
	}
	fi, _ := os.Stat(*out)
	_, err = fmt.Fprintf(e.stdout, "Backed up %s to %s (%d bytes, schema version %d) in %s.\n", src, *out, fi.Size(), version, time.Since(start).Round(time.Millisecond))
	return err
}

// runRestore runs "patchwave restore": put a backup in place of the
// embedded database.
func runRestore(ctx context.Context, e env, args []string) error {
	v := newVerb("restore", "FILE", 1, `Restore a backup made with "patchwave backup" into a data directory. Stop the
server first. The backup is checked (a sound SQLite database of Patchwave, with
a schema this build can run) before anything is touched. An existing database
is kept beside it as patchwave.db.before-restore-TIME, and only with --force.
The next server start migrates the restored database when it is older.`,
		"patchwave restore --data-dir /var/lib/patchwave /backup/patchwave-2026-12-01.db")
	dataDir := v.String("data-dir", "data", "the server's data directory")
	force := v.Bool("force", false, "replace an existing database (kept beside it)")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	version, err := store.CheckBackup(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	dst := filepath.Join(*dataDir, dbFile)
	kept := ""
	if _, err := os.Stat(dst); err == nil {
		if !*force {
			return fmt.Errorf("restore: %s has a database already: stop the server and give --force to replace it (it is kept beside it)", *dataDir)
		}
		kept = dst + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	tmp := dst + ".restoring"
	if err := copyFile(pos[0], tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	if kept != "" {
		if err := os.Rename(dst, kept); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("restore: keeping the old database: %w", err)
		}
		// The old database's write-ahead log belongs to it, not to the backup.
		for _, ext := range []string{"-wal", "-shm"} {
			if err := os.Rename(dst+ext, kept+ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("restore: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	msg := fmt.Sprintf("Restored %s into %s (schema version %d).", pos[0], dst, version)
	if kept != "" {
		msg += " The previous database is " + kept + "."
	}
	_, err = fmt.Fprintln(e.stdout, msg)
	return err
}

// copyFile copies src to a new file dst, mode 0600, synced to disk.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
