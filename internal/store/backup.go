package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of a SQLite database to dst, a file that
// must not exist yet, while the server may be running: SQLite's VACUUM
// INTO reads one snapshot and writes a compact database. PostgreSQL
// databases are backed up with pg_dump instead.
func (s *Store) Backup(ctx context.Context, dst string) error {
	if s.dialect != SQLite {
		return errors.New("backup: this is a PostgreSQL database: back it up with pg_dump (pg_dump -Fc -f patchwave.dump URL) and restore it with pg_restore")
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("backup: %s exists already: give a new file", dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// VACUUM INTO takes a file name as an SQL string literal.
	lit := "'" + strings.ReplaceAll(dst, "'", "''") + "'"
	if _, err := s.rdb.ExecContext(ctx, "VACUUM INTO "+lit); err != nil {
		os.Remove(dst)
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// CheckBackup opens a SQLite file read-only in all but name and checks it
// is a sound Patchwave database this build can run: SQLite's integrity
// check passes, and its schema is no newer than this build knows. It
// returns the schema version.
func CheckBackup(ctx context.Context, path string) (int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("backup %s: not a regular file", path)
	}
	head := make([]byte, 16)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return 0, fmt.Errorf("backup %s: not a SQLite database", path)
	}
	s, err := Open(ctx, path)
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	defer s.Close()
	var res string
	if err := s.rdb.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return 0, fmt.Errorf("backup %s: integrity check: %w", path, err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("backup %s: damaged: %s", path, res)
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil || n == 0 {
		return 0, fmt.Errorf("backup %s: not a Patchwave database (no schema_migrations table)", path)
	}
	applied, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	if applied > known {
		return applied, fmt.Errorf("backup %s: its schema (version %d) is newer than this build knows (%d): restore it with a newer patchwave", path, applied, known)
	}
	return applied, nil
}
