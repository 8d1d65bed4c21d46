// Package infratest checks the deployment artifacts that cannot be exercised
// on a build machine (there is no Azure and no Bicep CLI here): every .bicep
// file must parse with the Bicep tree-sitter grammar, every parameter must say
// what it is for, and the template must agree with the code about settings,
// functions and roles.
package infratest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	tree_sitter_bicep "github.com/tree-sitter-grammars/tree-sitter-bicep/bindings/go"
	tree_sitter "github.com/tree-sitter/go-tree-sitter"
)

// repoRoot is the module root, found from this file's location so the tests do
// not depend on the working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// bicepFiles lists every .bicep file under bicep/ and infra/, relative to root.
func bicepFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"bicep", "infra"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".bicep") {
				rel, err := filepath.Rel(root, path)
				if err != nil {
					return err
				}
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("listing %s: %v", dir, err)
		}
	}
	sort.Strings(files)
	return files
}

// bicepFile is one parsed template. The tree keeps pointers into src, so both
// live together.
type bicepFile struct {
	path string
	src  []byte
	tree *tree_sitter.Tree
}

func (f *bicepFile) root() *tree_sitter.Node { return f.tree.RootNode() }

func (f *bicepFile) text(n *tree_sitter.Node) string {
	return string(f.src[n.StartByte():n.EndByte()])
}

// parseBicep parses one file with the pinned Bicep grammar.
func parseBicep(t *testing.T, root, rel string) *bicepFile {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	parser := tree_sitter.NewParser()
	t.Cleanup(parser.Close)
	if err := parser.SetLanguage(tree_sitter.NewLanguage(tree_sitter_bicep.Language())); err != nil {
		t.Fatalf("loading the Bicep grammar: %v", err)
	}
	tree := parser.Parse(src, nil)
	if tree == nil {
		t.Fatalf("%s: the parser returned no tree", rel)
	}
	t.Cleanup(tree.Close)
	return &bicepFile{path: rel, src: src, tree: tree}
}

// syntaxProblems walks the tree and reports every ERROR and MISSING node as
// "file:line:column: …".
func syntaxProblems(f *bicepFile) []string {
	var problems []string
	var walk func(n *tree_sitter.Node)
	walk = func(n *tree_sitter.Node) {
		if !n.HasError() && !n.IsMissing() {
			return
		}
		pos := n.StartPosition()
		where := fmt.Sprintf("%s:%d:%d", f.path, pos.Row+1, pos.Column+1)
		switch {
		case n.IsMissing():
			problems = append(problems, fmt.Sprintf("%s: missing %s", where, n.Kind()))
			return
		case n.IsError():
			snippet := f.text(n)
			if len(snippet) > 60 {
				snippet = snippet[:60] + "…"
			}
			problems = append(problems, fmt.Sprintf("%s: syntax error near %q", where, snippet))
			return
		}
		for i := uint(0); i < n.ChildCount(); i++ {
			walk(n.Child(i))
		}
	}
	walk(f.root())
	return problems
}

func TestBicepFilesParse(t *testing.T) {
	root := repoRoot(t)
	files := bicepFiles(t, root)
	if len(files) == 0 {
		t.Fatal("found no .bicep files under bicep/ or infra/")
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			f := parseBicep(t, root, rel)
			for _, p := range syntaxProblems(f) {
				t.Error(p)
			}
		})
	}
}

// TestSyntaxProblemsReported proves the parse check can fail: a broken
// template must produce a located error.
func TestSyntaxProblemsReported(t *testing.T) {
	dir := t.TempDir()
	broken := "param name string\n\nresource x 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: name\n  location: \n"
	if err := os.WriteFile(filepath.Join(dir, "broken.bicep"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	f := parseBicep(t, dir, "broken.bicep")
	problems := syntaxProblems(f)
	if len(problems) == 0 {
		t.Fatal("a template with an unfinished object parsed without a reported problem")
	}
	if !strings.HasPrefix(problems[0], "broken.bicep:") {
		t.Errorf("got problem %q, want it to start with the file name", problems[0])
	}
}
