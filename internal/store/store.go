// Package store keeps Patchwave's state in SQLite (embedded, the default) or
// PostgreSQL (for several server replicas), through database/sql with
// hand-written SQL next to the method that runs it.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"

	"github.com/patchwave/patchwave"
)

//go:embed migrations
var migrations embed.FS

// Dialect names a SQL database flavour.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is Patchwave's database.
type Store struct {
	dialect Dialect
	rdb     *sql.DB // reads
	wdb     *sql.DB // writes: one connection on SQLite, the same pool on PostgreSQL
	now     func() time.Time
	clock   atomic.Pointer[func() time.Time] // set by SetClock

	staleAfter time.Duration
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL,
// or else a SQLite file path (created if missing). It does not migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{staleAfter: 24 * time.Hour}
	s.now = func() time.Time {
		if c := s.clock.Load(); c != nil {
			return (*c)()
		}
		return time.Now()
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.dialect, s.rdb, s.wdb = Postgres, db, db
	} else {
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("open sqlite: empty path")
		}
		q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		r, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+q)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		w, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+q+"&_txlock=immediate")
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxIdleTime(0)
		w.SetConnMaxLifetime(0)
		s.dialect, s.rdb, s.wdb = SQLite, r, w
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect reports which database s talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.wdb.Close()
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// SetClock makes s read the time from now; for tests. It is safe to call
// while background loops read the time.
func (s *Store) SetClock(now func() time.Time) { s.clock.Store(&now) }

// Now is the store's current time.
func (s *Store) Now() time.Time { return s.now() }

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + string(s.dialect)
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", e.Name())
		}
		b, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers must be unique, not contiguous: work on two migrations may
	// land in either order, and Migrate applies each one the database
	// lacks.
	for i, m := range ms {
		if m.version < 1 || (i > 0 && m.version == ms[i-1].version) {
			return nil, fmt.Errorf("migration %s: number %d is taken or invalid", m.name, m.version)
		}
	}
	return ms, nil
}

// SchemaVersion returns the newest migration applied (0 for an empty database)
// and the newest this build knows.
func (s *Store) SchemaVersion(ctx context.Context) (applied, known int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	var v sql.NullInt64
	if err := s.wdb.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	return int(v.Int64), known, nil
}

// Migrate applies the migrations the database lacks, in number order, each
// in its own transaction, and refuses a database whose schema is newer than
// this build.
func (s *Store) Migrate(ctx context.Context) error { return s.MigrateTo(ctx, 0) }

// MigrateTo is Migrate stopping after migration version upTo (0: all of
// them): for staged upgrades, and for tests that upgrade from every
// earlier schema.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	if upTo > 0 {
		ms = slices.DeleteFunc(ms, func(m migration) bool { return m.version > upTo })
	}
	if s.dialect == Postgres {
		// Several replicas may start at once: one migrates, the others wait.
		conn, err := s.wdb.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7263514)`); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7263514)`)
	}
	applied, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if applied > known {
		return patchwave.Errorf(patchwave.EConflict, "database schema version %d is newer than this build knows (%d): upgrade patchwave", applied, known)
	}
	done := map[int]bool{}
	rows, err := s.wdb.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		err := s.write(ctx, func(tx *Tx) error {
			if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, ms_(tx.now))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s %s: %w", s.dialect, m.name, err)
		}
	}
	return nil
}

// Tx is a write transaction with its time fixed when it began.
type Tx struct {
	tx      *sql.Tx
	ctx     context.Context
	now     time.Time
	dialect Dialect
}

func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(tx.ctx, rebind(tx.dialect, q), args...)
}

func (tx *Tx) queryRow(q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(tx.ctx, rebind(tx.dialect, q), args...)
}

// insert runs an INSERT and returns the new row's id.
func (tx *Tx) insert(q string, args ...any) (int64, error) {
	var id int64
	err := tx.queryRow(q+" RETURNING id", args...).Scan(&id)
	return id, err
}

// write runs fn in a write transaction, committing when it returns nil.
func (s *Store) write(ctx context.Context, fn func(*Tx) error) error {
	t, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{tx: t, ctx: ctx, now: s.now(), dialect: s.dialect}
	if err := fn(tx); err != nil {
		_ = t.Rollback()
		return outOfSpace(err)
	}
	if err := t.Commit(); err != nil {
		return outOfSpace(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// outOfSpace turns the database's "disk full" into an error people can
// act on (503, saying so): SQLite's SQLITE_FULL and I/O errors,
// PostgreSQL's disk_full (53100), the file system's ENOSPC or EFBIG. The
// transaction was rolled back, so nothing of it is stored.
func outOfSpace(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "SQLSTATE 53100") ||
		strings.Contains(msg, "no space left on device") || strings.Contains(msg, "file too large") {
		return patchwave.Errorf(patchwave.EUnavailable, "the server's database is out of disk space: nothing of this change was stored; free space on the database's disk and try again (%v)", err)
	}
	if strings.Contains(msg, "disk I/O error") {
		// SQLite's word for a write the file system refused: a file size
		// limit, a full or failing disk.
		return patchwave.Errorf(patchwave.EUnavailable, "the server's database cannot write to its disk (full, over a size limit, or failing): nothing of this change was stored (%v)", err)
	}
	return err
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.rdb.QueryContext(ctx, rebind(s.dialect, q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.rdb.QueryRowContext(ctx, rebind(s.dialect, q), args...)
}

// rebind turns ? placeholders into $1, $2… for PostgreSQL. Queries here
// never contain a literal question mark.
func rebind(d Dialect, q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Times are stored as Unix milliseconds in BIGINT columns in both dialects.
func ms_(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505") || strings.Contains(m, "duplicate key")
}

func slicesSort(s []string) { sort.Strings(s) }
