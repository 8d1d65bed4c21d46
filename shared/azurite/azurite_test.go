package azurite

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// endpoints pulls the Table and Queue endpoints out of a connection string.
func endpoints(t *testing.T, conn string) []string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(conn, ";") {
		if v, ok := strings.CutPrefix(part, "TableEndpoint="); ok {
			out = append(out, v)
		}
		if v, ok := strings.CutPrefix(part, "QueueEndpoint="); ok {
			out = append(out, v)
		}
	}
	if len(out) != 2 {
		t.Fatalf("connection string %q lacks explicit Table and Queue endpoints", conn)
	}
	return out
}

func TestStartServesAndCleanupStops(t *testing.T) {
	var eps []string
	t.Run("running", func(t *testing.T) {
		conn := Start(t)
		if !strings.Contains(conn, "AccountName="+AccountName) || !strings.Contains(conn, "AccountKey="+AccountKey) {
			t.Errorf("connection string %q lacks the development account", conn)
		}
		eps = endpoints(t, conn)
		for _, ep := range eps {
			resp, err := http.Get(ep + "/")
			if err != nil {
				t.Fatalf("GET %s: %v", ep, err)
			}
			_ = resp.Body.Close()
		}
	})
	if t.Skipped() || len(eps) == 0 {
		return
	}
	// The subtest's cleanup has stopped both processes.
	for _, ep := range eps {
		if resp, err := http.Get(ep + "/"); err == nil {
			_ = resp.Body.Close()
			t.Errorf("%s still answers after cleanup", ep)
		}
	}
}

func TestBinDirOutsideRepo(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := binDir(); !errors.Is(err, errNotInstalled) {
		t.Errorf("binDir outside a module = %v, want the not-installed error", err)
	}
}
