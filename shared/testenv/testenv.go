// Package testenv decides, in one place, what a test does when something it
// needs from the machine is missing: the real vendor response samples kept
// beside the repository, Azurite, a Chromium browser. On a developer's machine
// such a test skips and says why; in CI (CI set) or when the test's own
// CRMSYNC_REQUIRE_… variable is set, the absence is a failure, so that a broken
// checkout or image cannot turn tests into silent skips.
//
// Production code never imports this package.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Required reports whether an absent prerequisite must fail rather than skip:
// in CI, or when any of the named variables is set.
func Required(getenv func(string) string, requireVars ...string) bool {
	if getenv("CI") != "" {
		return true
	}
	for _, v := range requireVars {
		if getenv(v) != "" {
			return true
		}
	}
	return false
}

// Missing ends t because a prerequisite is absent: a skip with reason where it
// may be absent, a failure (naming CI or the variable) where it is required.
// Call it from the test that needs the prerequisite, never with a parent's t
// from inside a subtest: Skip and Fatal must run on the goroutine of the test
// they end.
func Missing(t testing.TB, reason string, requireVars ...string) {
	t.Helper()
	if Required(os.Getenv, requireVars...) {
		t.Fatalf("%s (required here: CI or one of %v is set)", reason, requireVars)
		return
	}
	t.Skip(reason)
}

// ModuleRoot returns the repository root: the nearest directory at or above
// the working directory (a test's package directory) holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
