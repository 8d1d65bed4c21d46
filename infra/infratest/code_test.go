package infratest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goFile is one parsed non-test Go file of the module.
type goFile struct {
	// dir is the file's package directory relative to the module root.
	dir  string
	path string
	ast  *ast.File
}

// goFiles parses every non-test Go file under the given top-level folders.
func goFiles(t *testing.T, root string, dirs ...string) []goFile {
	t.Helper()
	fset := token.NewFileSet()
	var out []goFile
	for _, dir := range dirs {
		base := filepath.Join(root, dir)
		if _, err := os.Stat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			out = append(out, goFile{dir: filepath.ToSlash(filepath.Dir(rel)), path: filepath.ToSlash(rel), ast: f})
			return nil
		})
		if err != nil {
			t.Fatalf("parsing Go code under %s: %v", dir, err)
		}
	}
	return out
}

// namedConst is a string constant found in the code.
type namedConst struct {
	name, value, where string
}

// stringConsts lists the string constants whose name satisfies match.
func stringConsts(files []goFile, match func(name string) bool) []namedConst {
	var out []namedConst
	for _, f := range files {
		for _, decl := range f.ast.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) || !match(name.Name) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						continue
					}
					out = append(out, namedConst{name: name.Name, value: v, where: f.path})
				}
			}
		}
	}
	return out
}

// uses reports the files (outside pkgDir itself) that refer to pkg.name, where
// pkg is the last element of the import path importPath.
func uses(files []goFile, importPath, name string) []string {
	var where []string
	for _, f := range files {
		if strings.HasSuffix(importPath, "/"+f.dir) {
			continue
		}
		local := ""
		for _, imp := range f.ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != importPath {
				continue
			}
			local = p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
		if local == "" {
			continue
		}
		found := false
		ast.Inspect(f.ast, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return !found
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && sel.Sel.Name == name {
				found = true
			}
			return !found
		})
		if found {
			where = append(where, f.path)
		}
	}
	return where
}
