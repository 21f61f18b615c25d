package api

import (
	"context"
	"time"

	"github.com/patchwave/patchwave/internal/report"
	"github.com/patchwave/patchwave/internal/store"
)

// ComplianceMetrics loads the fleet as q describes it and computes its
// metrics, with the stored SLA policy's at-risk fraction.
func ComplianceMetrics(ctx context.Context, st *store.Store, q store.ReportQuery) (report.Metrics, error) {
	sla, err := LoadSLA(ctx, st)
	if err != nil {
		return report.Metrics{}, err
	}
	q.AtRisk = sla.AtRisk
	in, err := st.ReportInput(ctx, q)
	if err != nil {
		return report.Metrics{}, err
	}
	return report.Compute(in), nil
}

// TakeSnapshot stores today's (UTC) compliance snapshot unless one is
// stored already, and reports whether it stored one. Replicas may call it
// at once: the day is the key, the first one stays.
func TakeSnapshot(ctx context.Context, st *store.Store) (bool, error) {
	now := st.Now().UTC()
	day := now.Format(time.DateOnly)
	if has, err := st.HasSnapshot(ctx, day); err != nil || has {
		return false, err
	}
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	m, err := ComplianceMetrics(ctx, st, store.ReportQuery{AsOf: now, From: start.AddDate(0, 0, -1), To: now})
	if err != nil {
		return false, err
	}
	return st.PutSnapshot(ctx, report.SnapshotOf(m))
}
