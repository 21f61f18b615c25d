package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/api"
)

// TestSnapshotOncePerDay: the server's loop and any number of concurrent
// callers store exactly one compliance snapshot for the day.
func TestSnapshotOncePerDay(t *testing.T) {
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		st := ts.Store()
		var wg sync.WaitGroup
		took := make([]bool, 8)
		for i := range took {
			wg.Go(func() {
				ok, err := api.TakeSnapshot(ctx, st)
				if err != nil {
					t.Error(err)
				}
				took[i] = ok
			})
		}
		wg.Wait()
		day := st.Now().UTC().Format(time.DateOnly)
		sns, err := st.Snapshots(ctx, day, day)
		if err != nil || len(sns) != 1 {
			t.Fatalf("snapshots of %s: %+v %v", day, sns, err)
		}
		if ok, err := api.TakeSnapshot(ctx, st); ok || err != nil {
			t.Errorf("another snapshot the same day: %v %v", ok, err)
		}
		n := 0
		for _, ok := range took {
			if ok {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%d callers stored a snapshot, want at most 1 (the loop may have been first)", n)
		}
	})
}
