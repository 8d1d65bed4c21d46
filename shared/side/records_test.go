package side

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFieldDefaultIsOptional: a connector that knows no defaults (C4C, say)
// leaves Field.Default empty and its describes read on the wire as before,
// with no "default" key, so the task pane keeps its blank start for them;
// one that knows a default sends it.
func TestFieldDefaultIsOptional(t *testing.T) {
	for _, c := range []struct {
		f    Field
		want string
	}{
		{Field{Name: "Status", Type: "picklist", DefaultedOnCreate: true}, ""},
		{Field{Name: "Status", Type: "picklist", DefaultedOnCreate: true, Default: "New"}, `"default":"New"`},
	} {
		b, err := json.Marshal(c.f)
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(string(b), `"default"`)
		if c.want == "" && has || c.want != "" && !strings.Contains(string(b), c.want) {
			t.Errorf("%+v marshals as %s, want default %q", c.f, b, c.want)
		}
	}
}
