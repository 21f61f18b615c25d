package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
	"github.com/patchwave/patchwave/internal/store"
)

// auditReader refuses the audit trail to viewers, as listAudit does.
func auditReader(u patchwave.User) error {
	if u.Role == patchwave.RoleViewer {
		return patchwave.Errorf(patchwave.EForbidden, "viewers may not read the audit trail")
	}
	return nil
}

func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if err := auditReader(user(r)); err != nil {
		return err
	}
	if err := strictQuery(r, "head_id", "head"); err != nil {
		return err
	}
	headID, err := queryInt(r, "head_id", 0)
	if err != nil {
		return err
	}
	head := r.URL.Query().Get("head")
	if (head == "") != (headID == 0) {
		return patchwave.Errorf(patchwave.EInvalid, "head_id and head go together: the id and hash of an event from an earlier verification")
	}
	if head != "" && !isHexHash(head) {
		return patchwave.Errorf(patchwave.EInvalid, "head %q is not a SHA-256 hash in hex (64 characters)", truncateRunes(head, 80))
	}
	v, err := a.store.VerifyAuditChain(r.Context(), headID, head)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Audit export formats.
const (
	auditJSON  = "json"  // {"events": [...]}
	auditLines = "jsonl" // one event per line
	auditCSV   = "csv"
)

func (a *API) exportAudit(w http.ResponseWriter, r *http.Request) error {
	if err := auditReader(user(r)); err != nil {
		return err
	}
	if err := strictQuery(r, "from", "to", "format"); err != nil {
		return err
	}
	q := r.URL.Query()
	from, to, err := report.ParseRange(q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	format := q.Get("format")
	switch format {
	case "":
		format = auditJSON
	case auditJSON, auditLines, auditCSV:
	default:
		return patchwave.Errorf(patchwave.EInvalid, "format %q is not json, jsonl or csv", truncateRunes(format, 40))
	}
	// The export streams: events are written as they are read, so that a
	// year of trail does not sit in memory.
	ctype := map[string]string{auditJSON: "application/json", auditLines: "application/x-ndjson", auditCSV: "text/csv; charset=utf-8"}[format]
	w.Header().Set("Content-Type", ctype)
	if format != auditJSON {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "audit."+format))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	n := 0
	switch format {
	case auditJSON:
		bw.WriteString(`{"events":[`)
	case auditCSV:
		_ = cw.Write([]string{"id", "at", "actor", "action", "object", "detail", "hash"})
	}
	err = a.store.EachAudit(r.Context(), from, to, func(e patchwave.AuditEvent) error {
		switch format {
		case auditCSV:
			return cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), csvCell(e.Actor), csvCell(e.Action), csvCell(e.Object), csvCell(e.Detail), e.Hash})
		default:
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if format == auditJSON && n > 0 {
				bw.WriteByte(',')
			}
			n++
			bw.Write(b)
			if format == auditLines {
				bw.WriteByte('\n')
			}
		}
		return nil
	})
	if err != nil {
		// Headers are gone; cut the answer short so that it does not
		// parse as complete.
		a.log.Error("audit export", "err", err)
		bw.Flush()
		panic(http.ErrAbortHandler)
	}
	if format == auditJSON {
		bw.WriteString("]}\n")
	}
	cw.Flush()
	return bw.Flush()
}

// csvCell quotes a cell a spreadsheet would run as a formula.
func csvCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// auditVerification documents the answer of GET /api/v1/audit/verify.
type auditVerification = store.AuditVerification
