package infratest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/settings"
)

// allSpecs is every setting crmsync reads, generic and the connectors', read
// from README.md's generated table: the connectors' lists live in the wiring
// (functions, a main package this test cannot import), whose
// TestReadmeListsEverySetting keeps the table equal to them.
func allSpecs(t *testing.T, root string) []settings.Spec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "<!-- settings:begin")
	end := strings.Index(readme, "<!-- settings:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md lacks its generated settings table")
	}
	specs := settings.ParseMarkdownTable(readme[start:end])
	// The generic settings must all be there: a sign the table was read.
	names := map[string]bool{}
	for _, s := range specs {
		names[s.Name] = true
	}
	for _, s := range settings.Specs() {
		if !names[s.Name] {
			t.Fatalf("README.md's settings table lacks %s (or could not be read)", s.Name)
		}
	}
	return specs
}
