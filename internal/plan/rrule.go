// Package plan holds Patchwave's pure scheduling and promotion rules:
// recurrence rules (RRULE), maintenance windows, the monthly release
// cadence and the waves a release moves through. Nothing here does I/O or
// reads the clock: every function takes the times it needs.
package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Freq is how often an RRULE repeats: the length of its period.
type Freq int

// The frequencies Patchwave supports (RFC 5545 also has SECONDLY,
// MINUTELY and HOURLY, which maintenance planning does not need).
const (
	Daily Freq = iota + 1
	Weekly
	Monthly
	Yearly
)

var freqNames = map[Freq]string{Daily: "DAILY", Weekly: "WEEKLY", Monthly: "MONTHLY", Yearly: "YEARLY"}

// String returns the RFC 5545 name of f, e.g. "MONTHLY".
func (f Freq) String() string {
	if s, ok := freqNames[f]; ok {
		return s
	}
	return fmt.Sprintf("Freq(%d)", int(f))
}

// WeekdayNum is one BYDAY item: a weekday with an optional ordinal. N = 0
// means every such weekday of the period; N = 2 the second, N = -1 the
// last (within the month for MONTHLY rules and YEARLY rules with BYMONTH,
// within the year for other YEARLY rules).
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

var dayNames = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// String returns the RFC 5545 form of d, e.g. "+2TU", "-1FR" or "SA".
func (d WeekdayNum) String() string {
	if d.N == 0 {
		return dayNames[d.Day]
	}
	return fmt.Sprintf("%+d%s", d.N, dayNames[d.Day])
}

// Limits that keep a hostile rule from using unbounded time or memory.
const (
	// MaxRRuleLen is the longest rule text ParseRRule accepts.
	MaxRRuleLen = 1024
	// MaxInterval is the largest INTERVAL.
	MaxInterval = 1000
	// MaxCount is the largest COUNT.
	MaxCount = 100_000
	// MaxIterations bounds the days one Between or Next call examines.
	// A rule that matches nothing (e.g. BYMONTH=2;BYMONTHDAY=30) stops
	// there instead of looping forever.
	MaxIterations = 1_000_000
	// MaxOccurrences bounds the occurrences one Between call returns,
	// and the candidates one period of a rule may have (days × BYHOUR ×
	// BYMINUTE); the rest of a period that has more are dropped.
	MaxOccurrences = 100_000
)

// RRule is a parsed recurrence rule: the subset of RFC 5545 RRULE that
// maintenance windows and release cadences need. The zero RRule is not
// valid; use ParseRRule.
//
// Supported parts: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL,
// COUNT, UNTIL, BYDAY (ordinals only with MONTHLY and YEARLY), BYMONTHDAY
// (1..31 or -31..-1, not with WEEKLY), BYMONTH, BYHOUR, BYMINUTE,
// BYSETPOS and WKST (MO or SU). Parts may come in any order; an optional
// "RRULE:" prefix is accepted. Seconds are taken from the start.
//
// As in RFC 5545 and python-dateutil, parts missing from the rule are
// taken from the start (DTSTART): a WEEKLY rule without BYDAY repeats on
// the start's weekday, a MONTHLY rule without BYDAY or BYMONTHDAY on the
// start's day of the month (and skips months without it), a YEARLY rule
// on the start's month and day; BYHOUR and BYMINUTE default to the
// start's. Several BYxxx parts must all hold (BYDAY=FR;BYMONTHDAY=13 is
// every Friday the 13th). The start itself is an occurrence only when it
// matches the rule.
type RRule struct {
	Freq     Freq
	Interval int // 1 when not given
	Count    int // 0: not given
	// Until is the last possible occurrence (inclusive), zero when not
	// given. See UntilForm for how it was written.
	Until      time.Time
	UntilForm  UntilForm
	ByDay      []WeekdayNum
	ByMonthDay []int
	ByMonth    []int
	ByHour     []int
	ByMinute   []int
	BySetPos   []int
	WeekStart  time.Weekday // Monday unless WKST=SU
}

// UntilForm records how UNTIL was written, so String can write it back.
type UntilForm int

// The forms of UNTIL.
const (
	UntilNone  UntilForm = iota
	UntilUTC             // 20261231T235959Z: an instant
	UntilLocal           // 20261231T235959: wall-clock time in the start's location
	UntilDate            // 20261231: through the end of that day in the start's location
)

// ParseRRule parses an RRULE value such as "FREQ=MONTHLY;BYDAY=+2TU".
// Errors have code EInvalid and name the offending part.
func ParseRRule(s string) (RRule, error) {
	if len(s) > MaxRRuleLen {
		return RRule{}, rerr("rule is %d bytes long, at most %d allowed", len(s), MaxRRuleLen)
	}
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	if s == "" {
		return RRule{}, rerr("rule is empty: want e.g. FREQ=MONTHLY;BYDAY=+2TU")
	}
	r := RRule{Interval: 1, WeekStart: time.Monday}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return RRule{}, rerr("part %q: want NAME=VALUE", part)
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.ToUpper(strings.TrimSpace(v))
		if seen[k] {
			return RRule{}, rerr("part %s appears twice", k)
		}
		seen[k] = true
		if v == "" {
			return RRule{}, rerr("part %s has no value", k)
		}
		var err error
		switch k {
		case "FREQ":
			r.Freq = 0
			for f, name := range freqNames {
				if name == v {
					r.Freq = f
				}
			}
			if r.Freq == 0 {
				err = rerr("FREQ=%s: want DAILY, WEEKLY, MONTHLY or YEARLY", v)
			}
		case "INTERVAL":
			r.Interval, err = parseInt(k, v, 1, MaxInterval)
		case "COUNT":
			r.Count, err = parseInt(k, v, 1, MaxCount)
		case "UNTIL":
			r.Until, r.UntilForm, err = parseUntil(v)
		case "BYDAY":
			r.ByDay, err = parseByDay(v)
		case "BYMONTHDAY":
			r.ByMonthDay, err = parseIntList(k, v, -31, 31, false)
		case "BYMONTH":
			r.ByMonth, err = parseIntList(k, v, 1, 12, false)
		case "BYHOUR":
			r.ByHour, err = parseIntList(k, v, 0, 23, true)
		case "BYMINUTE":
			r.ByMinute, err = parseIntList(k, v, 0, 59, true)
		case "BYSETPOS":
			r.BySetPos, err = parseIntList(k, v, -366, 366, false)
		case "WKST":
			switch v {
			case "MO":
				r.WeekStart = time.Monday
			case "SU":
				r.WeekStart = time.Sunday
			default:
				err = rerr("WKST=%s: want MO or SU", v)
			}
		case "BYSECOND", "BYYEARDAY", "BYWEEKNO":
			err = rerr("part %s is not supported", k)
		default:
			err = rerr("unknown part %q", k)
		}
		if err != nil {
			return RRule{}, err
		}
	}
	if r.Freq == 0 {
		return RRule{}, rerr("FREQ is missing: want e.g. FREQ=WEEKLY")
	}
	if r.Count > 0 && r.UntilForm != UntilNone {
		return RRule{}, rerr("COUNT and UNTIL cannot both be given")
	}
	for _, d := range r.ByDay {
		switch {
		case d.N == 0:
		case r.Freq == Monthly && (d.N < -5 || d.N > 5):
			return RRule{}, rerr("BYDAY=%s: a MONTHLY ordinal must be between -5 and 5", d)
		case r.Freq != Monthly && r.Freq != Yearly:
			return RRule{}, rerr("BYDAY=%s: ordinals are only allowed with FREQ=MONTHLY or YEARLY", d)
		}
	}
	if r.Freq == Weekly && len(r.ByMonthDay) > 0 {
		return RRule{}, rerr("BYMONTHDAY is not allowed with FREQ=WEEKLY")
	}
	return r, nil
}

// MustParseRRule is ParseRRule for constants in code and tests: it panics
// on error.
func MustParseRRule(s string) RRule {
	r, err := ParseRRule(s)
	if err != nil {
		panic(err)
	}
	return r
}

func rerr(format string, args ...any) error {
	return patchwave.Errorf(patchwave.EInvalid, "rrule: "+format, args...)
}

func parseInt(k, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, rerr("%s=%s: want a number from %d to %d", k, v, lo, hi)
	}
	return n, nil
}

// parseIntList parses a comma-separated list; zero is allowed only when
// zeroOK. The result is sorted and without duplicates.
func parseIntList(k, v string, lo, hi int, zeroOK bool) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimPrefix(f, "+"))
		if err != nil || n < lo || n > hi || (n == 0 && !zeroOK) || strings.HasPrefix(f, "+-") {
			nz := ""
			if !zeroOK && lo < 0 {
				nz = " other than 0"
			}
			return nil, rerr("%s=%s: %q is not a number from %d to %d%s", k, v, f, lo, hi, nz)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func parseByDay(v string) ([]WeekdayNum, error) {
	var out []WeekdayNum
	for _, f := range strings.Split(v, ",") {
		if len(f) < 2 {
			return nil, rerr("BYDAY=%s: %q is not a weekday (want e.g. MO, +2TU, -1FR)", v, f)
		}
		day := slices.Index(dayNames[:], f[len(f)-2:])
		if day < 0 {
			return nil, rerr("BYDAY=%s: %q is not a weekday (want e.g. MO, +2TU, -1FR)", v, f)
		}
		n := 0
		if num := f[:len(f)-2]; num != "" {
			var err error
			n, err = strconv.Atoi(num)
			if err != nil || n == 0 || n < -53 || n > 53 || strings.HasPrefix(num, "+-") {
				return nil, rerr("BYDAY=%s: %q has a bad ordinal (want 1 to 53 or -53 to -1)", v, f)
			}
		}
		out = append(out, WeekdayNum{N: n, Day: time.Weekday(day)})
	}
	slices.SortFunc(out, func(a, b WeekdayNum) int {
		if a.N != b.N {
			return a.N - b.N
		}
		return int(a.Day) - int(b.Day)
	})
	return slices.Compact(out), nil
}

func parseUntil(v string) (time.Time, UntilForm, error) {
	for _, f := range []struct {
		layout string
		form   UntilForm
	}{{"20060102T150405Z", UntilUTC}, {"20060102T150405", UntilLocal}, {"20060102", UntilDate}} {
		if len(v) != len(f.layout) {
			continue
		}
		t, err := time.Parse(f.layout, v)
		if err != nil {
			break
		}
		if t.Year() < 1 {
			break
		}
		return t, f.form, nil
	}
	return time.Time{}, UntilNone, rerr("UNTIL=%s: want YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ", v)
}

// String returns the canonical text of r: parts in a fixed order (FREQ,
// INTERVAL, COUNT, UNTIL, BYMONTH, BYMONTHDAY, BYDAY, BYHOUR, BYMINUTE,
// BYSETPOS, WKST), defaults (INTERVAL=1, WKST=MO) left out, lists sorted.
// ParseRRule(r.String()) gives back r.
func (r RRule) String() string {
	var b strings.Builder
	b.WriteString("FREQ=" + r.Freq.String())
	if r.Interval > 1 {
		fmt.Fprintf(&b, ";INTERVAL=%d", r.Interval)
	}
	if r.Count > 0 {
		fmt.Fprintf(&b, ";COUNT=%d", r.Count)
	}
	switch r.UntilForm {
	case UntilUTC:
		b.WriteString(";UNTIL=" + r.Until.Format("20060102T150405Z"))
	case UntilLocal:
		b.WriteString(";UNTIL=" + r.Until.Format("20060102T150405"))
	case UntilDate:
		b.WriteString(";UNTIL=" + r.Until.Format("20060102"))
	}
	list := func(name string, ns []int) {
		if len(ns) == 0 {
			return
		}
		b.WriteString(";" + name + "=")
		for i, n := range ns {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(n))
		}
	}
	list("BYMONTH", r.ByMonth)
	list("BYMONTHDAY", r.ByMonthDay)
	if len(r.ByDay) > 0 {
		b.WriteString(";BYDAY=")
		for i, d := range r.ByDay {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(d.String())
		}
	}
	list("BYHOUR", r.ByHour)
	list("BYMINUTE", r.ByMinute)
	list("BYSETPOS", r.BySetPos)
	if r.WeekStart == time.Sunday {
		b.WriteString(";WKST=SU")
	}
	return b.String()
}

// IsZero reports whether r is the zero RRule (no rule).
func (r RRule) IsZero() bool { return r.Freq == 0 }

// MinPeriod is the shortest length of one period of r: INTERVAL days,
// weeks, months (28 days) or years (365 days). Windows use it to reject a
// duration longer than the rule's period.
func (r RRule) MinPeriod() time.Duration {
	day := 24 * time.Hour
	n := time.Duration(max(r.Interval, 1))
	switch r.Freq {
	case Daily:
		return n * day
	case Weekly:
		return n * 7 * day
	case Monthly:
		return n * 28 * day
	case Yearly:
		return n * 365 * day
	}
	return 0
}

// Between returns the occurrences t of r with from <= t < to, in order,
// for a rule that starts at dtstart. Occurrences are computed on the wall
// clock of dtstart's location (a 02:00 Saturday window stays at 02:00
// local time across daylight saving changes) and returned in that
// location. A wall-clock time that does not exist (02:30 on a
// spring-forward day) is normalised by time.Date: it becomes the instant
// the clock would show had it not jumped (02:30 CET = 03:30 CEST). A
// time that exists twice (02:30 on a fall-back day) is always the first
// of the two (02:30 CEST), whatever time.Date picks. At most MaxOccurrences are returned, and at most
// MaxIterations days examined.
func (r RRule) Between(dtstart, from, to time.Time) []time.Time {
	var out []time.Time
	if !to.After(from) {
		return nil
	}
	r.each(dtstart, from, func(t time.Time) bool {
		if !t.Before(to) {
			return false
		}
		if !t.Before(from) {
			out = append(out, t)
		}
		return len(out) < MaxOccurrences
	})
	return out
}

// Next returns the first occurrence of r strictly after after, for a rule
// that starts at dtstart, and false when there is none (the rule ended,
// or nothing matched within MaxIterations days).
func (r RRule) Next(dtstart, after time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	r.each(dtstart, after, func(t time.Time) bool {
		if t.After(after) {
			next, found = t, true
			return false
		}
		return true
	})
	return next, found
}

// each calls yield with the occurrences of r in order, from dtstart on,
// until yield returns false, the rule ends or the iteration cap is hit.
// hint is a time before which occurrences are not wanted: without COUNT,
// periods wholly before it are skipped.
func (r RRule) each(dtstart, hint time.Time, yield func(time.Time) bool) {
	if r.Freq == 0 {
		return
	}
	loc := dtstart.Location()
	interval := max(r.Interval, 1)
	var until time.Time
	switch r.UntilForm {
	case UntilUTC:
		until = r.Until
	case UntilLocal:
		u := r.Until
		until = time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, loc)
	case UntilDate:
		u := r.Until
		until = time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
	}
	sy, sm, sd := dtstart.Date()
	hours, minutes := r.ByHour, r.ByMinute
	if len(hours) == 0 {
		hours = []int{dtstart.Hour()}
	}
	if len(minutes) == 0 {
		minutes = []int{dtstart.Minute()}
	}
	sec := dtstart.Second()

	// Defaults from dtstart when no day-selecting part is given.
	byDay, byMonthDay, byMonth := r.ByDay, r.ByMonthDay, r.ByMonth
	if len(byDay) == 0 && len(byMonthDay) == 0 {
		switch r.Freq {
		case Weekly:
			byDay = []WeekdayNum{{Day: dtstart.Weekday()}}
		case Monthly:
			byMonthDay = []int{sd}
		case Yearly:
			byMonthDay = []int{sd}
			if len(byMonth) == 0 {
				byMonth = []int{int(sm)}
			}
		}
	}
	yearScope := r.Freq == Yearly && len(r.ByMonth) == 0

	// The first period: index k counts periods of INTERVAL units from
	// the one holding dtstart.
	startDay := civil(sy, sm, sd) // days since epoch of dtstart's date
	weekStartDay := startDay - int64((int(dtstart.Weekday())-int(r.WeekStart)+7)%7)
	k := int64(0)
	if r.Count == 0 && hint.After(dtstart) {
		hy, hm, hd := hint.In(loc).Date()
		switch r.Freq {
		case Daily:
			k = (civil(hy, hm, hd) - startDay) / int64(interval)
		case Weekly:
			k = (civil(hy, hm, hd) - weekStartDay) / 7 / int64(interval)
		case Monthly:
			k = (int64(hy-sy)*12 + int64(hm-sm)) / int64(interval)
		case Yearly:
			k = int64(hy-sy) / int64(interval)
		}
		k = max(k-1, 0) // one period back: a period's last days may spill over the hint
	}

	count, iterations := 0, 0
	var cands []time.Time
	for ; iterations < MaxIterations; k++ {
		// The days of period k: [first, first+n) in days since epoch.
		var first, n int64
		var py int
		var pm time.Month
		switch r.Freq {
		case Daily:
			first, n = startDay+k*int64(interval), 1
		case Weekly:
			first, n = weekStartDay+k*7*int64(interval), 7
		case Monthly:
			mi := int64(sm-1) + k*int64(interval)
			py, pm = sy+int(mi/12), time.Month(mi%12+1)
			first, n = civil(py, pm, 1), int64(daysIn(py, pm))
		case Yearly:
			py = sy + int(k)*interval
			first, n = civil(py, 1, 1), civil(py+1, 1, 1)-civil(py, 1, 1)
		}
		if y, _, _ := fromCivil(first); y > 9999 || k > 1<<40 {
			return
		}
		cands = cands[:0]
		y, m, day := fromCivil(first)
		for d := first; d < first+n; d, day = d+1, day+1 {
			if dim := daysIn(y, m); day > dim {
				y, m, day = nextMonth(y, m)
			}
			iterations++
			if len(byMonth) > 0 && !slices.Contains(byMonth, int(m)) {
				// Skip to the month's last day.
				skip := int64(daysIn(y, m) - day)
				d, day, iterations = d+skip, day+int(skip), iterations+int(skip)
				continue
			}
			if !r.dayMatches(d, y, m, day, byDay, byMonthDay, yearScope) {
				continue
			}
			if len(cands) >= MaxOccurrences {
				break // a hostile rule: the rest of this period is dropped
			}
			for _, h := range hours {
				for _, mi := range minutes {
					cands = append(cands, firstInstant(time.Date(y, m, day, h, mi, sec, 0, loc)))
				}
			}
		}
		if len(cands) == 0 {
			if iterations >= MaxIterations {
				return
			}
			continue
		}
		slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
		cands = slices.CompactFunc(cands, func(a, b time.Time) bool { return a.Equal(b) })
		set := cands
		if len(r.BySetPos) > 0 {
			set = nil
			for _, p := range r.BySetPos {
				i := p - 1
				if p < 0 {
					i = len(cands) + p
				}
				if i >= 0 && i < len(cands) {
					set = append(set, cands[i])
				}
			}
			slices.SortFunc(set, func(a, b time.Time) int { return a.Compare(b) })
			set = slices.CompactFunc(set, func(a, b time.Time) bool { return a.Equal(b) })
		}
		for _, t := range set {
			if t.Before(dtstart) {
				continue
			}
			if !until.IsZero() && t.After(until) {
				return
			}
			count++
			if !yield(t) {
				return
			}
			if r.Count > 0 && count >= r.Count {
				return
			}
		}
	}
}

// dayMatches reports whether the date y-m-d passes the day filters.
// days is y-m-d as days since 1970-01-01; BYMONTH was checked already.
func (r RRule) dayMatches(days int64, y int, m time.Month, d int, byDay []WeekdayNum, byMonthDay []int, yearScope bool) bool {
	if len(byMonthDay) > 0 {
		dim := daysIn(y, m)
		ok := false
		for _, md := range byMonthDay {
			if md == d || md == d-dim-1 {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(byDay) > 0 {
		wd := time.Weekday((days%7 + 7 + 4) % 7) // 1970-01-01 was a Thursday
		// The ordinal of this weekday within its month or year, from
		// the start and from the end.
		pos, total := d, daysIn(y, m)
		if yearScope {
			pos = int(civil(y, m, d)-civil(y, 1, 1)) + 1
			total = int(civil(y+1, 1, 1) - civil(y, 1, 1))
		}
		fromStart, fromEnd := (pos-1)/7+1, -((total-pos)/7 + 1)
		ok := false
		for _, bd := range byDay {
			if bd.Day == wd && (bd.N == 0 || bd.N == fromStart || bd.N == fromEnd) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// firstInstant returns the earlier of the two instants that show t's
// wall-clock time when the clocks went back shortly before t, and t
// otherwise. time.Date does not say which of the two it returns (and picks
// differently in different zones).
func firstInstant(t time.Time) time.Time {
	start, _ := t.ZoneBounds()
	if start.IsZero() || t.Sub(start) >= 4*time.Hour {
		return t
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Nanosecond).Zone()
	if prev > off {
		if alt := t.Add(-time.Duration(prev-off) * time.Second); alt.Before(start) {
			return alt
		}
	}
	return t
}

// civil returns the number of days from 1970-01-01 to y-m-d (proleptic
// Gregorian), normalising an out-of-range month or day like time.Date.
func civil(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// fromCivil is the inverse of civil.
func fromCivil(days int64) (int, time.Month, int) {
	return time.Unix(days*86400, 0).UTC().Date()
}

// daysIn returns the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// nextMonth returns the first day of the month after y-m.
func nextMonth(y int, m time.Month) (int, time.Month, int) {
	if m == time.December {
		return y + 1, time.January, 1
	}
	return y, m + 1, 1
}
