package dashboard_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/side"
)

// fakeCalendars stands in for the user's mailbox calendars (a sides-level
// test lists them from the local Graph): a list, or a mailbox that does not
// answer.
type fakeCalendars struct {
	mu   sync.Mutex
	list []side.Choice
	down bool
}

func (c *fakeCalendars) Calendars(context.Context, string) ([]side.Choice, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, errors.New("mailbox unreachable")
	}
	return slices.Clone(c.list), nil
}

func (c *fakeCalendars) set(list []side.Choice, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list, c.down = list, down
}

// TestSettingsCalendars: the settings page offers the user's calendars with
// the default one ticked; ticking Sales too saves both, unticking all saves
// the default; the JSON API reads and writes the choice (null keeps it, an
// id that is not one fails); an unreachable mailbox gives a text box.
func TestSettingsCalendars(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.cals.set([]side.Choice{{ID: "AAMkDefault=", Name: "Calendar", Default: true}, {ID: "AAMkSales=", Name: "Sales"}}, false)
	page := f.settingsPage(t, f.user)
	wantIn(t, page, `<input type="checkbox" name="calendars" value="AAMkDefault=" checked> Calendar (default)`,
		`<input type="checkbox" name="calendars" value="AAMkSales="> Sales`)

	post := func(kv ...string) (int, string) {
		code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings",
			form(f.user.User, append([]string{"calendars.form", "boxes", "calendars.default", "AAMkDefault=", "email.enabled", "on"}, kv...)...), false)
		return code, body
	}
	code, body := post("calendars", "AAMkDefault=", "calendars", "AAMkSales=")
	if code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", code, body)
	}
	s, err := f.acc.Settings(ctx, f.user.User)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Calendars, []string{"AAMkDefault=", "AAMkSales="}) {
		t.Errorf("stored calendars %v, want both", s.Calendars)
	}
	wantIn(t, f.settingsPage(t, f.user), `value="AAMkSales=" checked> Sales`)

	if code, body := post(); code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", code, body)
	}
	if s, _ = f.acc.Settings(ctx, f.user.User); len(s.Calendars) != 0 {
		t.Errorf("with nothing ticked, stored %v, want the default calendar (none)", s.Calendars)
	}

	code, body, _ = f.call(t, f.user, "GET", dashboard.Prefix+"/v1/me/settings", "", false)
	if code != 200 || !strings.Contains(body, `"calendars":[]`) {
		t.Errorf("API settings: %d %s, want calendars []", code, body)
	}
	doc := strings.Replace(body, `"calendars":[]`, `"calendars":["AAMkSales="]`, 1)
	if code, body, _ := f.call(t, f.user, "PUT", dashboard.Prefix+"/v1/me/settings", doc, true); code != 200 {
		t.Fatalf("API put: %d %s", code, body)
	}
	if s, _ = f.acc.Settings(ctx, f.user.User); !slices.Equal(s.Calendars, []string{"AAMkSales="}) {
		t.Errorf("after the API put: %v", s.Calendars)
	}
	_, cur, _ := f.call(t, f.user, "GET", dashboard.Prefix+"/v1/me/settings", "", false)
	keep := strings.Replace(cur, `"calendars":["AAMkSales="]`, `"calendars":null`, 1)
	if keep == cur {
		t.Fatalf("the document %s does not hold the stored choice", cur)
	}
	if code, body, _ := f.call(t, f.user, "PUT", dashboard.Prefix+"/v1/me/settings", keep, true); code != 200 {
		t.Fatalf("API put: %d %s", code, body)
	}
	if s, _ = f.acc.Settings(ctx, f.user.User); !slices.Equal(s.Calendars, []string{"AAMkSales="}) {
		t.Errorf("null should keep the choice, got %v", s.Calendars)
	}
	bad := strings.Replace(keep, `"calendars":null`, `"calendars":["../x"]`, 1)
	if code, body, _ := f.call(t, f.user, "PUT", dashboard.Prefix+"/v1/me/settings", bad, true); code != http.StatusBadRequest || !strings.Contains(body, "calendar") {
		t.Errorf("a bad id: %d %s, want 400 naming calendars", code, body)
	}

	f.cals.set(nil, true)
	wantIn(t, f.settingsPage(t, f.user), `<input id="calendarIDs" name="calendarIDs" value="AAMkSales="`, "did not answer")
}
