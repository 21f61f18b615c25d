package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/patchwave/patchwave/internal/report"
)

// auditVerbs are the verbs of "patchwave audit"; without one it lists
// events (runAudit).
func auditVerbs() []command {
	return []command{
		{"verify", "prove the audit hash chain intact, or name its first broken link", runAuditVerify},
		{"export", "write the audit events of a date range as JSON lines or CSV", runAuditExport},
	}
}

func runAuditVerify(ctx context.Context, e env, args []string) error {
	v := newVerb("audit verify", "", 0, `Ask the server to walk the audit trail's hash chain and recompute every hash.
An edited event, a removed one or two swapped ones break the chain at the
first event that no longer fits; the command names it and exits 1. The chain
alone cannot show events cut off the end: keep the head it prints (ID:HASH)
and pass it as --head next time.`,
		`patchwave audit verify
patchwave audit verify --head 1234:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`)
	headFlag := v.String("head", "", "`ID:HASH` of the last event of an earlier verification, to check nothing after it was cut")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	var headID int64
	var head string
	if *headFlag != "" {
		id, h, ok := strings.Cut(*headFlag, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || n <= 0 || len(h) != 64 {
			return v.usageErrorf("--head %q is not ID:HASH, like 1234:9f86d0…(64 hex digits)", *headFlag)
		}
		headID, head = n, h
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	res, err := c.VerifyAudit(ctx, headID, head)
	if err != nil {
		return fmt.Errorf("verify audit trail: %w", err)
	}
	if *out == formatJSON {
		if err := writeJSON(e.stdout, res); err != nil {
			return err
		}
	} else if res.OK {
		if _, err := fmt.Fprintf(e.stdout, "Audit trail intact: %d events, every hash matches.\nHead: %d:%s\n", res.Events, res.HeadID, res.Head); err != nil {
			return err
		}
	}
	if !res.OK {
		return fmt.Errorf("audit trail broken at event %d: %s", res.FirstBroken, res.Problem)
	}
	return nil
}

func runAuditExport(ctx context.Context, e env, args []string) error {
	v := newVerb("audit export", "", 0, `Write the audit events of a date range, oldest first, with their chain hashes:
JSON lines (one event per line) or CSV. Dates include the whole day.`,
		`patchwave audit export --from 2026-11-01 --to 2026-11-30 -o audit-2026-11.jsonl
patchwave audit export --from 2026-11-01 --format csv -o audit.csv`)
	from := v.String("from", "", "the first `date` (2026-11-01) or time (RFC 3339); default: the beginning")
	to := v.String("to", "", "the last `date`, included, or a time; default: now")
	format := v.String("format", "", "`format`: jsonl or csv; by default the file's extension decides, else jsonl")
	file := v.String("o", "", "write to this `file` instead of standard output")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if _, _, err := report.ParseRange(*from, *to); err != nil {
		return v.usageErrorf("%v", err)
	}
	f := *format
	if f == "" {
		f = "jsonl"
		if strings.HasSuffix(strings.ToLower(*file), ".csv") {
			f = "csv"
		}
	}
	if f != "jsonl" && f != "csv" {
		return v.usageErrorf("--format %q is not jsonl or csv", f)
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	b, err := c.ExportAudit(ctx, *from, *to, f)
	if err != nil {
		return fmt.Errorf("export audit trail: %w", err)
	}
	return emitReport(e, b, f, *file)
}
