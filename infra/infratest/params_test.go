package infratest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// undescribed lists the parameters that have no @description.
func undescribed(f *bicepFile) []string {
	var out []string
	for _, p := range f.params() {
		if !slices.Contains(p.decorators, "description") {
			out = append(out, p.where+": parameter "+p.name+" has no @description")
		}
	}
	return out
}

func TestEveryParameterIsDescribed(t *testing.T) {
	root := repoRoot(t)
	for _, rel := range bicepFiles(t, root) {
		f := parseBicep(t, root, rel)
		if len(f.params()) == 0 && rel == "infra/main.bicep" {
			t.Errorf("%s: found no parameters; the extraction is broken", rel)
		}
		for _, msg := range undescribed(f) {
			t.Error(msg)
		}
	}
}

func TestUndescribedParameterIsCaught(t *testing.T) {
	dir := t.TempDir()
	src := "@description('fine')\n@minLength(3)\nparam good string\n\n@secure()\nparam bad string\n\nparam worse int = 1\n"
	if err := os.WriteFile(filepath.Join(dir, "p.bicep"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := undescribed(parseBicep(t, dir, "p.bicep"))
	want := []string{"p.bicep:6: parameter bad has no @description", "p.bicep:8: parameter worse has no @description"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestMainParametersAreConstrained checks the guard rails the issue asks for:
// bad input fails the deployment early, before any resource is touched.
func TestMainParametersAreConstrained(t *testing.T) {
	root := repoRoot(t)
	f := parseBicep(t, root, "infra/main.bicep")
	want := map[string][]string{
		"namePrefix":             {"minLength", "maxLength"},
		"plan":                   {"allowed"},
		"tenancy":                {"allowed"},
		"entraClientId":          {"minLength", "maxLength"},
		"entraClientSecret":      {"secure", "minLength"},
		"salesforceClientSecret": {"secure", "minLength"},
	}
	found := map[string]bool{}
	for _, p := range f.params() {
		need, ok := want[p.name]
		if !ok {
			continue
		}
		found[p.name] = true
		for _, d := range need {
			if !slices.Contains(p.decorators, d) {
				t.Errorf("%s: parameter %s lacks @%s", p.where, p.name, d)
			}
		}
	}
	for name := range want {
		if !found[name] {
			t.Errorf("infra/main.bicep has no parameter %s", name)
		}
	}
}

// TestParametersFileMatchesTemplate checks infra/main.parameters.json (used by
// azd): it is valid JSON, names only parameters the template declares, and
// gives every parameter that has no default.
func TestParametersFileMatchesTemplate(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "infra", "main.parameters.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("infra/main.parameters.json: %v", err)
	}
	declared := map[string]param{}
	for _, p := range parseBicep(t, root, "infra/main.bicep").params() {
		declared[p.name] = p
	}
	for name := range file.Parameters {
		if _, ok := declared[name]; !ok {
			t.Errorf("infra/main.parameters.json sets %s, which infra/main.bicep does not declare", name)
		}
	}
	for name, p := range declared {
		if _, ok := file.Parameters[name]; !ok && !p.hasDefault {
			t.Errorf("%s: parameter %s has no default and infra/main.parameters.json does not give it; azd would prompt or fail", p.where, name)
		}
	}
}
