package winzone

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTableCoversCLDR checks the generated table against the CLDR data it
// was generated from (Go's copy of windowsZones.xml in the toolchain that
// runs the test): every Windows name is there, with the same IANA zone, and
// every zone loads.
func TestTableCoversCLDR(t *testing.T) {
	// runtime.GOROOT is deprecated (staticcheck SA1019): ask the go command
	// that runs the test.
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "src", "time", "zoneinfo_abbrs_windows.go"))
	if err != nil {
		t.Fatalf("the toolchain's CLDR copy: %v", err)
	}
	re := regexp.MustCompile(`(?m)^\s*"([^"]+)":\s*\{[^}]*\},\s*//\s*(\S+)\s*$`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		n++
		if got, _ := IANA(m[1]); got != m[2] {
			t.Errorf("%q → %q, CLDR says %q (run go generate ./shared/winzone/)", m[1], got, m[2])
		}
	}
	if n < 100 || n != len(windowsZones) {
		t.Errorf("CLDR lists %d Windows zones, the table %d", n, len(windowsZones))
	}
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%q → %q: %v", win, iana, err)
		}
	}
}

func TestIANAIgnoresCaseAndSpace(t *testing.T) {
	for _, name := range []string{"W. Europe Standard Time", "w. europe standard time", " W. EUROPE STANDARD TIME "} {
		if got, ok := IANA(name); !ok || got != "Europe/Berlin" {
			t.Errorf("IANA(%q) = %q, %v; want Europe/Berlin", name, got, ok)
		}
	}
	if got, ok := IANA("Mars Standard Time"); ok {
		t.Errorf("IANA of an unknown name = %q, want none", got)
	}
}
