package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RequireBrowser is the variable that makes an absent browser a failure
// outside CI too (make test sets it).
const RequireBrowser = "CRMSYNC_REQUIRE_BROWSER"

// ChromeEnv names the variable that points at the browser to use.
const ChromeEnv = "CHROME"

// chromiumNames are the commands Linux distributions and Google install
// Chrome or Chromium as, searched on PATH in this order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// macApps are the usual macOS application bundles' executables.
var macApps = []string{
	"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
	"/Applications/Chromium.app/Contents/MacOS/Chromium",
}

// Machine is what LocateChromium looks at; tests replace it.
type Machine struct {
	Getenv   func(string) string
	GOOS     string
	LookPath func(string) (string, error)
	// IsExec reports whether path is an executable file.
	IsExec func(path string) bool
	// Home is the user's home folder (for ~/Applications on macOS).
	Home string
}

// ThisMachine is the machine the process runs on.
func ThisMachine() Machine {
	home, _ := os.UserHomeDir()
	return Machine{Getenv: os.Getenv, GOOS: runtime.GOOS, LookPath: exec.LookPath, IsExec: isExec, Home: home}
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// ErrNoChromium is wrapped by LocateChromium's error when no browser is found.
var ErrNoChromium = errors.New("no Chrome or Chromium found")

// LocateChromium finds the browser the headless tests drive, the one way both
// `make test` (through local/findchrome) and the Go tests look: $CHROME when
// set (it must then be executable: a wrong $CHROME is an error, not a reason
// to pick another browser), else chromium, chromium-browser, google-chrome or
// google-chrome-stable on PATH, else on macOS the Google Chrome or Chromium
// application. The error says how to get one.
func LocateChromium(m Machine) (string, error) {
	if p := strings.TrimSpace(m.Getenv(ChromeEnv)); p != "" {
		if !filepath.IsAbs(p) {
			if found, err := m.LookPath(p); err == nil {
				return found, nil
			}
		}
		if m.IsExec(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s is not an executable file: point it at Chrome or Chromium, or unset it to search the usual places", ChromeEnv, p)
	}
	for _, name := range chromiumNames {
		if p, err := m.LookPath(name); err == nil {
			return p, nil
		}
	}
	if m.GOOS == "darwin" {
		for _, app := range macApps {
			for _, p := range []string{app, filepath.Join(m.Home, app)} {
				if m.IsExec(p) {
					return p, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: looked for $%s, %s on PATH%s. Install Chromium (Debian/Ubuntu: `apt-get install -y --no-install-recommends chromium`; macOS: install Google Chrome) or set %s to the browser's executable",
		ErrNoChromium, ChromeEnv, strings.Join(chromiumNames, ", "), macNote(m.GOOS), ChromeEnv)
}

func macNote(goos string) string {
	if goos != "darwin" {
		return ""
	}
	return " and the Google Chrome and Chromium applications in /Applications and ~/Applications"
}

// Chromium returns the browser for a headless test, or ends the test (skip
// here, failure in CI or with CRMSYNC_REQUIRE_BROWSER) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	p, err := LocateChromium(ThisMachine())
	if err != nil {
		Missing(t, err.Error(), RequireBrowser)
	}
	return p
}
