package server

import (
	"context"
	"time"

	"github.com/patchwave/patchwave/internal/api"
	"github.com/patchwave/patchwave/internal/report"
)

// snapshotTick is how often the snapshot loop looks whether today's
// compliance snapshot is taken.
const snapshotTick = time.Hour

// snapshotLoop takes one compliance snapshot per day (UTC), for the
// reports' trend: at start and then each hour it takes today's unless some
// replica already did.
func (s *Server) snapshotLoop(ctx context.Context) {
	t := time.NewTicker(snapshotTick)
	defer t.Stop()
	for {
		if took, err := api.TakeSnapshot(ctx, s.store); err != nil && ctx.Err() == nil {
			s.log.Warn("compliance snapshot failed", "err", err)
		} else if took {
			s.log.Info("compliance snapshot taken", "day", s.store.Now().UTC().Format(time.DateOnly))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ComplianceReport is the web UI's monthly report: the API's.
func (b backend) ComplianceReport(ctx context.Context, month string) (report.Report, error) {
	if month == "" {
		month = b.s.store.Now().UTC().Format("2006-01")
	}
	return api.ComplianceReport(ctx, b.s.store, month)
}
