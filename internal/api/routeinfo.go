package api

import (
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"strings"
)

// RouteInfo describes one route of the API's table, for the tests and
// tools that check the API against its document and its audit trail.
type RouteInfo struct {
	Method, Path string
	// Query lists the query parameters the document names.
	Query []string
	// Status is the documented success status.
	Status int
	// Auth is who may call it: "none", "user" or "agent".
	Auth string
	// Handler names the function that serves it, as it is declared in
	// this package: "(*API).listHosts", or for a handler made by a
	// function, that function ("(*API).rolloutAct").
	Handler string
}

// Mutating reports whether the route changes state by its method.
func (r RouteInfo) Mutating() bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

var closureSuffix = regexp.MustCompile(`(\.func\d+)+$|-fm$`)

// Routes returns the route table, in its order.
func (a *API) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(a.routes))
	for _, rt := range a.routes {
		ri := RouteInfo{Method: rt.method, Path: rt.path, Query: append([]string(nil), rt.query...), Status: rt.status}
		if ri.Status == 0 {
			ri.Status = http.StatusOK
		}
		switch rt.auth {
		case authUser:
			ri.Auth = "user"
		case authAgent:
			ri.Auth = "agent"
		default:
			ri.Auth = "none"
		}
		if rt.h != nil {
			name := runtime.FuncForPC(reflect.ValueOf(rt.h).Pointer()).Name()
			name = name[strings.LastIndex(name, "/")+1:] // api.(*API).listHosts-fm
			_, name, _ = strings.Cut(name, ".")
			name = closureSuffix.ReplaceAllString(name, "")
			if i := strings.LastIndex(name, "(*"); i > 0 { // (*API).table.(*API).rolloutAct
				name = name[i:]
			}
			ri.Handler = name
		}
		out = append(out, ri)
	}
	return out
}
