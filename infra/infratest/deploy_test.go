package infratest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runDeploy runs infra/deploy.sh with PATH limited to dir plus the basic tools
// it needs, so a fake az (or none) decides what happens.
func runDeploy(t *testing.T, pathDir string, env ...string) (string, error) {
	t.Helper()
	root := repoRoot(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	cmd := exec.Command(sh, filepath.Join(root, "infra", "deploy.sh"))
	cmd.Dir = root
	cmd.Env = append([]string{"PATH=" + pathDir}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func TestDeployRefusesWithoutAz(t *testing.T) {
	out, err := runDeploy(t, t.TempDir())
	if err == nil {
		t.Fatalf("deploy succeeded without az: %s", out)
	}
	if !strings.Contains(out, "Azure CLI (az) is not installed") {
		t.Errorf("got %q, want a message saying az is missing", out)
	}
}

func TestDeployRefusesWhenNotLoggedIn(t *testing.T) {
	dir := t.TempDir()
	fakeAz := "#!/bin/sh\necho 'Please run az login' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(fakeAz), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runDeploy(t, dir)
	if err == nil {
		t.Fatalf("deploy succeeded while az is logged out: %s", out)
	}
	if !strings.Contains(out, "not logged in") || !strings.Contains(out, "az login") {
		t.Errorf("got %q, want a message telling to run az login", out)
	}
}

func TestDeployNamesMissingSettings(t *testing.T) {
	dir := t.TempDir()
	// az that is installed and logged in, and fails loudly if asked anything else.
	fakeAz := "#!/bin/sh\n[ \"$1 $2\" = 'account show' ] && exit 0\necho \"unexpected az $*\" >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(fakeAz), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runDeploy(t, dir, "CRMSYNC_NAME_PREFIX=crmsynctest")
	if err == nil {
		t.Fatalf("deploy went ahead without its settings: %s", out)
	}
	if !strings.Contains(out, "CRMSYNC_LOCATION is not set") {
		t.Errorf("got %q, want it to name CRMSYNC_LOCATION", out)
	}
	if strings.Contains(out, "unexpected az") {
		t.Errorf("deploy called az before checking its settings: %s", out)
	}
}
