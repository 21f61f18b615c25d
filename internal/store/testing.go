package store

import (
	"context"
	"fmt"
	"sort"
)

// ExecForTest runs a raw statement; tests use it to damage data on purpose.
func (tx *Tx) ExecForTest(q string, args ...any) error {
	_, err := tx.exec(q, args...)
	return err
}

// CountPackageSets returns how many distinct package sets are stored.
func (s *Store) CountPackageSets(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM package_sets`).Scan(&n)
	return n, err
}

// Columns lists every table's columns, sorted, for comparing dialects.
func (s *Store) Columns(ctx context.Context) (map[string][]string, error) {
	q := `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	if s.dialect == Postgres {
		q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	for _, cs := range out {
		sort.Strings(cs)
	}
	return out, rows.Err()
}
