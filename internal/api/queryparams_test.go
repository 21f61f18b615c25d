package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestQueryParamsDocumented checks that each route documents exactly the
// query parameters its handler reads. The reads are found in this
// package's source: Get, Has and indexing on r.URL.Query() or on a
// url.Values, helpers that take the parameter's name (queryInt), and
// everything the handler calls in this package, transitively.
func TestQueryParamsDocumented(t *testing.T) {
	reads := queryReads(t)
	a := New(Config{})
	for _, rt := range a.Routes() {
		fn, ok := reads.funcs[rt.Handler]
		if !ok {
			t.Errorf("%s %s: handler %s not found in the source", rt.Method, rt.Path, rt.Handler)
			continue
		}
		got := reads.closure(fn)
		shared := sharedReads[rt.Method+" "+rt.Path]
		got = slices.DeleteFunc(got, func(n string) bool { return slices.Contains(shared, n) })
		want := slices.Clone(rt.Query)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: the handler %s reads query parameters %q, the document names %q", rt.Method, rt.Path, rt.Handler, got, want)
		}
		for _, n := range shared {
			if slices.Contains(rt.Query, n) {
				t.Errorf("%s %s: %s is documented now: take it out of sharedReads", rt.Method, rt.Path, n)
			}
		}
	}
}

// sharedReads are query parameters that a parser a route shares with
// another reads, but that the route does not offer (the handler overrides
// them, or they are not meant for it); the API refuses them on that route
// before its handler runs, as it refuses every undocumented parameter.
var sharedReads = map[string][]string{
	// findingFilter, shared with GET /api/v1/findings; the host's findings
	// come whole (after, limit) and for the host of the path (host).
	"GET /api/v1/hosts/{host}/findings": {"advisory", "after", "cve", "excepted", "host", "limit", "package", "site", "sla", "sort", "tier"},
	// hostFilter, shared with GET /api/v1/hosts; compliance pages through
	// every host itself (after, limit).
	"GET /api/v1/compliance": {"after", "eol", "limit", "q", "stale"},
}

// queryFunc is what one function of the package does with query parameters.
type queryFunc struct {
	names     map[string]bool // literal names it reads
	nameParam map[int]bool    // parameters (by index) that name a parameter it reads
	calls     []queryCall     // functions of the package it calls
}

type queryCall struct {
	callee string
	args   []ast.Expr
}

type queryIndex struct {
	funcs map[string]*queryFunc
}

// closure returns the names fn and its callees read, sorted.
func (x *queryIndex) closure(fn *queryFunc) []string {
	seen := map[*queryFunc]bool{}
	out := map[string]bool{}
	var walk func(f *queryFunc)
	walk = func(f *queryFunc) {
		if seen[f] {
			return
		}
		seen[f] = true
		for n := range f.names {
			out[n] = true
		}
		for _, c := range f.calls {
			callee, ok := x.funcs[c.callee]
			if !ok {
				continue
			}
			for i := range callee.nameParam {
				if i < len(c.args) {
					if s, ok := stringLit(c.args[i]); ok {
						out[s] = true
					}
				}
			}
			walk(callee)
		}
	}
	walk(fn)
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func queryReads(t *testing.T) *queryIndex {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	x := &queryIndex{funcs: map[string]*queryFunc{}}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			x.funcs[funcKey(fd)] = analyzeQuery(fd)
		}
	}
	return x
}

// funcKey names a declaration as RouteInfo.Handler does.
func funcKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	switch rt := fd.Recv.List[0].Type.(type) {
	case *ast.StarExpr:
		if id, ok := rt.X.(*ast.Ident); ok {
			return "(*" + id.Name + ")." + fd.Name.Name
		}
	case *ast.Ident:
		return rt.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

func analyzeQuery(fd *ast.FuncDecl) *queryFunc {
	qf := &queryFunc{names: map[string]bool{}, nameParam: map[int]bool{}}
	values := map[string]bool{} // identifiers holding query values
	params := map[string]int{}  // string parameters by name
	i := 0
	for _, field := range fd.Type.Params.List {
		isValues := false
		if sel, ok := field.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Values" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "url" {
				isValues = true
			}
		}
		isString := false
		if id, ok := field.Type.(*ast.Ident); ok && id.Name == "string" {
			isString = true
		}
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if isValues {
				values[n.Name] = true
			}
			if isString {
				params[n.Name] = i
			}
			i++
		}
	}
	isQuery := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return values[e.Name]
		case *ast.CallExpr: // r.URL.Query()
			if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Query" {
				if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "URL" {
					return true
				}
			}
		}
		return false
	}
	ranged := map[string][]string{} // loop variables over literal names
	read := func(arg ast.Expr) {
		if s, ok := stringLit(arg); ok {
			qf.names[s] = true
		} else if id, ok := arg.(*ast.Ident); ok {
			if idx, ok := params[id.Name]; ok {
				qf.nameParam[idx] = true
			}
			for _, s := range ranged[id.Name] {
				qf.names[s] = true
			}
		}
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.RangeStmt: // for name := range map[string]T{"kev": …}, for _, name := range []string{…}
			lit, ok := n.X.(*ast.CompositeLit)
			if !ok {
				break
			}
			v := n.Key
			if _, isSlice := lit.Type.(*ast.ArrayType); isSlice {
				v = n.Value
			}
			id, ok := v.(*ast.Ident)
			if !ok {
				break
			}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Key
				}
				if s, ok := stringLit(e); ok {
					ranged[id.Name] = append(ranged[id.Name], s)
				}
			}
		case *ast.AssignStmt:
			for j, rhs := range n.Rhs {
				if j < len(n.Lhs) && isQuery(rhs) {
					if id, ok := n.Lhs[j].(*ast.Ident); ok {
						values[id.Name] = true
					}
				}
			}
		case *ast.IndexExpr:
			if isQuery(n.X) {
				read(n.Index)
			}
		case *ast.CallExpr:
			switch fun := n.Fun.(type) {
			case *ast.SelectorExpr:
				if (fun.Sel.Name == "Get" || fun.Sel.Name == "Has") && isQuery(fun.X) && len(n.Args) == 1 {
					read(n.Args[0])
				}
				if id, ok := fun.X.(*ast.Ident); ok && fd.Recv != nil && len(fd.Recv.List[0].Names) > 0 && id.Name == fd.Recv.List[0].Names[0].Name {
					qf.calls = append(qf.calls, queryCall{callee: "(*API)." + fun.Sel.Name, args: n.Args})
				}
			case *ast.Ident:
				qf.calls = append(qf.calls, queryCall{callee: fun.Name, args: n.Args})
			}
		}
		return true
	})
	return qf
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}
