// Package layering holds the checks that keep the tree's shape: only
// package kernel (and below) reaches the dump, VMCOREINFO and address
// translation, no code tells errors apart by their text, and the front
// ends run the one pipeline (report.Analyze).
package layering

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/vmcore-report/vmcore-report/"

// low are the packages only kernel/ may import: above it, the crashed
// kernel is reached through kernel.Kernel.
var low = []string{"kernel/dump", "kernel/vmcoreinfo", "kernel/x86"}

// goFiles parses every Go file of the module (tests included).
func goFiles(t *testing.T) map[string]*ast.File {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Clean(filepath.Join(filepath.Dir(self), "..", ".."))
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found %d Go files: not the module's root", len(files))
	}
	return files
}

func TestOnlyKernelReachesTheDump(t *testing.T) {
	for path, f := range goFiles(t) {
		if strings.HasPrefix(path, "kernel/") {
			continue // package kernel and the layers it is made of
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, l := range low {
				if p == module+l {
					t.Errorf("%s imports %s: above package kernel, reach the dump through kernel.Kernel", path, l)
				}
			}
		}
	}
}

// errText reports whether e is a call of an Error method: err.Error().
func errText(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok || len(c.Args) != 0 {
		return false
	}
	s, ok := c.Fun.(*ast.SelectorExpr)
	return ok && s.Sel.Name == "Error"
}

func TestNoErrorTextCompared(t *testing.T) {
	compare := map[string]bool{"Contains": true, "HasPrefix": true, "HasSuffix": true, "EqualFold": true, "Index": true, "Compare": true}
	for path, f := range goFiles(t) {
		if strings.HasSuffix(path, "_test.go") {
			continue // tests may check what a message says
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				s, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, isID := s.X.(*ast.Ident); isID && x.Name == "strings" && compare[s.Sel.Name] {
					for _, a := range n.Args {
						if errText(a) {
							t.Errorf("%s: strings.%s on an error's text: classify by errors.Is/As", path, s.Sel.Name)
						}
					}
				}
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && (errText(n.X) || errText(n.Y)) {
					t.Errorf("%s: an error's text compared with %s: classify by errors.Is/As", path, n.Op)
				}
			}
			return true
		})
	}
}

// pipeline are the steps of a run: front ends (cmd/, wasm/) make a run
// with report.Analyze only, so the CLI and the browser run one pipeline.
var pipeline = map[string]map[string]bool{
	"kernel":   {"Open": true},
	"report":   {"Run": true, "Identify": true},
	"emitters": {"NewContext": true},
}

func TestFrontEndsRunOnePipeline(t *testing.T) {
	for path, f := range goFiles(t) {
		if !(strings.HasPrefix(path, "cmd/") || strings.HasPrefix(path, "wasm/")) || strings.HasSuffix(path, "_test.go") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			s, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, isID := s.X.(*ast.Ident); isID && pipeline[x.Name][s.Sel.Name] {
				t.Errorf("%s: %s.%s: a front end runs the pipeline through report.Analyze", path, x.Name, s.Sel.Name)
			}
			return true
		})
	}
}
