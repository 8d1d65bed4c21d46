package reconcile

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
)

// TestLinksAndConflictsHoldNoValues syncs records with recognizable values,
// edits and conflicts included, and checks that nothing the runner stores or
// logs from a plan — links, conflicts, guard reports — carries any of them.
// Only issues may name an item (while open), and only by its name.
func TestLinksAndConflictsHoldNoValues(t *testing.T) {
	w := newWorld(item.Contact)
	var secrets []string
	secret := func(f string, i int) string {
		s := fmt.Sprintf("secret-%s-%d", strings.ToLower(f), i)
		secrets = append(secrets, s)
		return s
	}
	for i := range 5 {
		f := map[string]string{}
		for _, name := range item.DefaultFields[item.Contact] {
			f[name] = secret(name, i)
		}
		w.crm.create(fmt.Sprintf("c%d", i), f, nil, "")
		f[item.Phone] = secret("mailbox-phone", i)
		w.mbx.create(fmt.Sprintf("m%d", i), f, nil, "")
	}
	var logged []any
	conflicts := 0
	run := func() {
		t.Helper()
		res, err := w.session(-1)
		if err != nil {
			t.Fatal(err)
		}
		conflicts += len(res.out.Conflicts)
		logged = append(logged, res.out.Conflicts, res.out.Guard)
	}
	run()
	for i := range 5 {
		w.crm.update(fmt.Sprintf("c%d", i), map[string]string{item.Title: secret("crm-title", i)})
		w.mbx.update(w.links[fmt.Sprintf("c%d", i)].MailboxID, map[string]string{item.Title: secret("mbx-title", i)})
	}
	run()
	run()
	logged = append(logged, w.links)
	b, err := json.Marshal(logged)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("stored or logged plan data contains the value %q", s)
		}
	}
	// Each pair differed in Phone when matched and in Title when edited on
	// both sides: ten conflicts, so the check above had something to find.
	if len(w.links) != 5 || conflicts != 10 {
		t.Errorf("got %d links and %d conflicts, want 5 and 10", len(w.links), conflicts)
	}
}
