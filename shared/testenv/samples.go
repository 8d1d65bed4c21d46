package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RequireSamples is the variable that makes absent reference samples a
// failure outside CI too.
const RequireSamples = "CRMSYNC_REQUIRE_FIDELITY"

// SamplesDir returns the folder of real vendor response samples named name
// (e.g. "salesforce-restforce") under the shared reference folder that sits
// beside the repository: <root>/../shared/reference/payloads/<name>. They are
// public recordings kept out of the repository; a plain clone has no such
// folder, and there the test skips (see Missing).
func SamplesDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := samplesDir(name)
	if err != nil {
		Missing(t, err.Error(), RequireSamples)
	}
	return dir
}

func samplesDir(name string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("real response samples %q: %v", name, err)
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "reference", "payloads", name)
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("real response samples not present at %s (they live in the shared reference folder beside the repository, not in it): %v", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("real response samples: %s is not a folder", dir)
	}
	return dir, nil
}
