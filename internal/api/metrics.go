package api

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics counts what the API does, for Prometheus.
type Metrics struct {
	checkins       atomic.Int64
	reports        atomic.Int64
	enrollments    atomic.Int64
	enrollFailures atomic.Int64

	mu       sync.Mutex
	requests map[reqKey]*reqStat
}

type reqKey struct {
	route string
	code  int
}

type reqStat struct {
	count   int64
	seconds float64
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics { return &Metrics{requests: map[reqKey]*reqStat{}} }

func (m *Metrics) request(route string, code int, d time.Duration) {
	if code == 0 {
		code = 200
	}
	m.mu.Lock()
	st := m.requests[reqKey{route, code}]
	if st == nil {
		st = &reqStat{}
		m.requests[reqKey{route, code}] = st
	}
	st.count++
	st.seconds += d.Seconds()
	m.mu.Unlock()
}

// Gauge is a value read when metrics are scraped. Gauges of one name
// come one after the other, with their labels (name, value pairs).
type Gauge struct {
	Name, Help string
	Labels     []string
	Value      float64
}

// labels writes {k="v",…} for pairs.
func labels(pairs []string) string {
	if len(pairs) < 2 {
		return ""
	}
	b := []byte{'{'}
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, pairs[i]...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, pairs[i+1])
	}
	return string(append(b, '}'))
}

// Write writes the metrics in Prometheus' text format, with extra gauges.
func (m *Metrics) Write(w io.Writer, gauges []Gauge) {
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("patchwave_checkins_total", "Agent check-ins answered.", m.checkins.Load())
	counter("patchwave_inventory_reports_total", "Check-ins that carried facts or packages.", m.reports.Load())
	counter("patchwave_enrollments_total", "Agents enrolled.", m.enrollments.Load())
	counter("patchwave_enrollment_failures_total", "Enrollments refused.", m.enrollFailures.Load())
	for i, g := range gauges {
		if i == 0 || gauges[i-1].Name != g.Name {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", g.Name, g.Help, g.Name)
		}
		fmt.Fprintf(w, "%s%s %g\n", g.Name, labels(g.Labels), g.Value)
	}
	m.mu.Lock()
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	fmt.Fprintf(w, "# HELP patchwave_http_requests_total API requests by route and status.\n# TYPE patchwave_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(w, "patchwave_http_requests_total{route=%q,code=\"%d\"} %d\n", k.route, k.code, m.requests[k].count)
	}
	fmt.Fprintf(w, "# HELP patchwave_http_request_seconds_total Time spent answering API requests.\n# TYPE patchwave_http_request_seconds_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(w, "patchwave_http_request_seconds_total{route=%q,code=\"%d\"} %g\n", k.route, k.code, m.requests[k].seconds)
	}
	m.mu.Unlock()
}

// Handler serves the metrics; gauges is called on every scrape.
func (m *Metrics) Handler(gauges func() []Gauge) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.Write(w, gauges())
	})
}
