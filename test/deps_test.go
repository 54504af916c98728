package test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/enterprise-connect/broker"

// goPackage is the part of `go list -json` the import rules read.
type goPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

// listPackages runs `go list -deps -json ./...` in the module root: every package of the
// module and everything it depends on, keyed by import path.
func listPackages(t *testing.T) map[string]goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = moduleRoot(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -json ./...: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// own is true for a package of this module.
func own(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// under is true for path and its subpackages.
func under(path, root string) bool { return path == root || strings.HasPrefix(path, root+"/") }

// importRule is one row of STYLE §1's import table: which packages it governs, what they
// may not depend on, and why the rule exists (printed when it breaks).
type importRule struct {
	name    string
	applies func(pkg string) bool
	// violations returns the offending imports of p.
	violations func(p goPackage, all map[string]goPackage) []string
	why        string
}

// TestImports_FollowStyleLayout enforces the import table of STYLE §1 on the module's
// non-test code.
func TestImports_FollowStyleLayout(t *testing.T) {
	pkgs := listPackages(t)
	std := func(path string) bool { return pkgs[path].Standard }
	onlyStdlib := func(p goPackage, _ map[string]goPackage) []string {
		var bad []string
		for _, d := range p.Deps {
			if !std(d) {
				bad = append(bad, d)
			}
		}
		return bad
	}
	// noDep rejects direct or transitive dependencies on any package under one of roots.
	noDep := func(roots ...string) func(goPackage, map[string]goPackage) []string {
		return func(p goPackage, _ map[string]goPackage) []string {
			var bad []string
			for _, d := range p.Deps {
				for _, r := range roots {
					if under(d, r) {
						bad = append(bad, d)
					}
				}
			}
			return bad
		}
	}
	rules := []importRule{
		{
			name:       "scopes imports only the standard library",
			applies:    func(p string) bool { return p == module+"/scopes" },
			violations: onlyStdlib,
			why:        "scopes is the vocabulary shared by configs, handlers and broker; without dependencies it can be imported anywhere and never closes a cycle (STYLE §1)",
		},
		{
			name:       "store imports only the standard library",
			applies:    func(p string) bool { return p == module+"/store" },
			violations: onlyStdlib,
			why:        "store is the contract between the broker and its backends (interfaces, records, sentinel errors); an engine dependency here would leak into every package that names a record (STYLE §1, §2)",
		},
		{
			name:    "handlers never imports the store",
			applies: func(p string) bool { return under(p, module+"/handlers") },
			violations: func(p goPackage, all map[string]goPackage) []string {
				var bad []string
				for _, d := range p.Imports {
					if under(d, module+"/store") {
						bad = append(bad, d)
					}
				}
				return append(bad, noDep(module+"/store/embedded", module+"/store/redis")(p, all)...)
			},
			why: "handlers must not know storage details: the broker owns every rule, handlers only speak HTTP (STYLE §1, §4)",
		},
		{
			name:       "broker never imports echo",
			applies:    func(p string) bool { return under(p, module+"/broker") },
			violations: noDep("github.com/labstack/echo"),
			why:        "the rules of SPEC.md must not depend on the web framework: echo.Context never leaves handlers, so the broker can be tested and reused without HTTP (STYLE §1, §4)",
		},
		{
			name:       "broker never imports a store backend",
			applies:    func(p string) bool { return under(p, module+"/broker") },
			violations: noDep(module+"/store/embedded", module+"/store/redis"),
			why:        "the broker works through the store interface so every rule runs unchanged on the embedded store and on Redis; cmd/broker picks the backend (STYLE §1, §2)",
		},
		{
			name:       "broker never imports configs, handlers or cmd",
			applies:    func(p string) bool { return under(p, module+"/broker") },
			violations: noDep(module+"/configs", module+"/handlers", module+"/cmd"),
			why:        "components receive the plain values they need, never the whole Config, and the broker sits below the HTTP layer; cmd/broker does the wiring (STYLE §1, §6)",
		},
		{
			name:    "configs imports only the standard library, YAML and scopes",
			applies: func(p string) bool { return under(p, module+"/configs") },
			violations: func(p goPackage, _ map[string]goPackage) []string {
				var bad []string
				for _, d := range p.Imports {
					if !std(d) && d != module+"/scopes" && !strings.Contains(d, "yaml") {
						bad = append(bad, d)
					}
				}
				for _, d := range p.Deps {
					if own(d) && d != module+"/scopes" {
						bad = append(bad, d)
					}
				}
				return bad
			},
			why: "configs only describes settings (loading, defaults, validation); reaching into the broker, HTTP or a store would make every component depend on the whole configuration (STYLE §1, §6)",
		},
		{
			name: "store backends import only store of ours",
			applies: func(p string) bool {
				return under(p, module+"/store/embedded") || under(p, module+"/store/redis") || under(p, module+"/store/storetest")
			},
			violations: func(p goPackage, _ map[string]goPackage) []string {
				var bad []string
				for _, d := range p.Imports {
					if own(d) && d != module+"/store" {
						bad = append(bad, d)
					}
				}
				return bad
			},
			why: "a backend implements the store contract and nothing else: importing the broker would let it decide rules, and the two backends would drift apart (STYLE §1, §2)",
		},
	}

	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for _, path := range slices.Sorted(maps.Keys(pkgs)) {
				if !own(path) || !r.applies(path) {
					continue
				}
				checked++
				if bad := r.violations(pkgs[path], pkgs); len(bad) > 0 {
					slices.Sort(bad)
					t.Errorf("%s imports %s\n\tRule: %s.\n\tWhy: %s",
						path, strings.Join(slices.Compact(bad), ", "), r.name, r.why)
				}
			}
			if checked == 0 {
				t.Errorf("no package of the module is governed by %q: the rule would pass vacuously (did a package move?)", r.name)
			}
		})
	}
}

// httpServerTypes are the net/http names only a server needs. (http.Request is not among
// them: an HTTP client builds requests too, e.g. the broker's callback deliveries.)
var httpServerTypes = map[string]bool{
	"Handler": true, "HandlerFunc": true, "ResponseWriter": true, "Server": true, "ServeMux": true,
}

// TestBroker_NoHTTPServerTypes: the broker may use net/http as a client only (STYLE §1).
func TestBroker_NoHTTPServerTypes(t *testing.T) {
	pkgs := listPackages(t)
	files := 0
	for path, p := range pkgs {
		if !under(path, module+"/broker") {
			continue
		}
		for _, name := range p.GoFiles { // non-test files only
			files++
			file := filepath.Join(p.Dir, name)
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parsing %s: %v", file, err)
			}
			local := ""
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "net/http" {
					local = "http"
					if imp.Name != nil {
						local = imp.Name.Name
					}
				}
			}
			if local == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && httpServerTypes[sel.Sel.Name] {
					t.Errorf("%s: uses http.%s\n\tRule: broker never uses net/http server types.\n\tWhy: the broker speaks Go values, not HTTP: handlers parse requests and write responses, so every rule of SPEC.md is testable without a server and the broker may use net/http only as a client (STYLE §1, §4)",
						fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
	if files == 0 {
		t.Error("found no non-test Go file under broker/: the rule would pass vacuously")
	}
}
