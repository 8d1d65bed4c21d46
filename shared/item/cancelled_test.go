package item

import (
	"strings"
	"testing"
)

func TestCancelledVersion(t *testing.T) {
	if got := CancelledVersion("v1", ""); got != "v1" {
		t.Fatalf("no cancelled dates: got %q, want the version as it was", got)
	}
	a := CancelledVersion("v1", "2026-03-02")
	b := CancelledVersion("v1", "2026-03-02,2026-03-09")
	if a == "v1" || a == b || !strings.HasPrefix(a, "v1~") {
		t.Fatalf("versions do not move with the dates: %q, %q", a, b)
	}
	if again := CancelledVersion("v1", "2026-03-02"); again != a {
		t.Fatalf("same dates, different versions: %q, %q", a, again)
	}
	if strings.Contains(a, "2026") || strings.Contains(b, "03-09") {
		t.Fatalf("the dates themselves reach the version: %q, %q", a, b)
	}
	if CancelledVersion("v2", "2026-03-02") == a {
		t.Fatal("a new series version with the same dates kept the old version")
	}
}
