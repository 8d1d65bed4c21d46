package side_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/crmsync/crmsync/"

// vendors are the connector packages: each may import the contract and the
// generic packages, never the engine or another vendor.
var vendors = []string{"shared/salesforce", "shared/msgraph", "shared/c4c", "shared/google"}

// deps maps every package of the module to its transitive imports (go list
// -deps, without tests), both relative to the module.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		var ds []string
		for _, d := range f[1:] {
			if rel, ok := strings.CutPrefix(d, module); ok {
				ds = append(ds, rel)
			}
		}
		m[strings.TrimPrefix(f[0], module)] = ds
	}
	return m
}

// vendorOf returns the vendor a package belongs to ("" for none).
func vendorOf(pkg string) string {
	for _, v := range vendors {
		if pkg == v || strings.HasPrefix(pkg, v+"/") {
			return v
		}
	}
	return ""
}

// TestVendorsPlugIn checks the contract's import rules with go list -deps:
// no package under shared/ other than a vendor's own reaches a vendor
// package, and vendor packages reach neither the engine (shared/session) nor
// each other. Only functions/ (the wiring) and local/ (the demo) name vendors.
func TestVendorsPlugIn(t *testing.T) {
	// A package that exports a connector value is a vendor: the list above
	// cannot forget one.
	files, err := filepath.Glob("../../shared/*/connector.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pkg := "shared/" + filepath.Base(filepath.Dir(f))
		if strings.Contains(string(src), "\nvar Connector = side.Connector{") && !slices.Contains(vendors, pkg) {
			t.Errorf("%s exports a side.Connector but is not in vendors: add it", pkg)
		}
	}
	all := deps(t)
	for _, v := range vendors {
		if _, ok := all[v]; !ok {
			t.Fatalf("vendor package %s not found by go list", v)
		}
	}
	for pkg, ds := range all {
		if !strings.HasPrefix(pkg, "shared/") {
			continue
		}
		own := vendorOf(pkg)
		for _, d := range ds {
			switch dv := vendorOf(d); {
			case own != "" && (d == "shared/session" || strings.HasPrefix(d, "shared/session/")):
				t.Errorf("vendor package %s imports the engine (%s)", pkg, d)
			case dv != "" && own != "" && dv != own:
				t.Errorf("vendor package %s imports another vendor (%s)", pkg, d)
			case dv != "" && own == "":
				t.Errorf("generic package %s imports vendor package %s; a connector's abilities reach it through shared/side", pkg, d)
			}
		}
	}
}
