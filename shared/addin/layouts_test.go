package addin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLayouts: crmsync's default until someone saves one; the organisation's
// default for everyone without their own; a user's own over it; back to the
// organisation's on reset; a shared layout taken by a colleague under its
// code. Only the OrgSetting route sets the default (the wiring gives it to
// organisation admins).
func TestLayouts(t *testing.T) {
	f := newFixture(t)
	get := func(user string) LayoutAnswer {
		t.Helper()
		rec := f.json(user, http.MethodGet, Prefix+"/layout", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET layout as %s: %d %s", user, rec.Code, rec.Body)
		}
		return decode[LayoutAnswer](t, rec.Body)
	}
	if got := get("ann"); got.Source != "default" {
		t.Fatalf("before any layout: %+v", got)
	}
	org := `{"create":["Lead","Contact"],"fields":{"Lead":["LastName","Company"]},"search":["Lead","Contact"]}`
	if rec := f.json("admin", http.MethodPost, Prefix+"/layout/org", org); rec.Code != http.StatusOK {
		t.Fatalf("org default: %d %s", rec.Code, rec.Body)
	}
	want := Layout{Create: []string{"Lead", "Contact"}, Fields: map[string][]string{"Lead": {"LastName", "Company"}}, Search: []string{"Lead", "Contact"}}
	if got := get("ann"); got.Source != "org" || !cmp.Equal(got.Layout, want) {
		t.Fatalf("the org default for ann: %+v", got)
	}
	own := `{"create":["Opportunity"],"fields":{},"search":["Account"]}`
	if rec := f.json("ann", http.MethodPost, Prefix+"/layout", own); rec.Code != http.StatusOK {
		t.Fatalf("own layout: %d %s", rec.Code, rec.Body)
	}
	if got := get("ann"); got.Source != "user" || got.Layout.Search[0] != "Account" {
		t.Fatalf("ann's own: %+v", got)
	}
	if got := get("bob"); got.Source != "org" {
		t.Fatalf("bob still has the org default: %+v", got)
	}

	// Ann shares hers; Bob takes it.
	rec := f.json("ann", http.MethodPost, Prefix+"/layout/share", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("share: %d %s", rec.Code, rec.Body)
	}
	code := decode[ShareCode](t, rec.Body).Code
	if rec := f.json("bob", http.MethodPost, Prefix+"/layout/take", `{"code":"`+strings.ToLower(code)+`"}`); rec.Code != http.StatusOK {
		t.Fatalf("take: %d %s", rec.Code, rec.Body)
	}
	if got := get("bob"); got.Source != "user" || got.Layout.Create[0] != "Opportunity" {
		t.Fatalf("bob after taking ann's: %+v", got)
	}
	// Resetting goes back to the organisation's default.
	if rec := f.json("bob", http.MethodDelete, Prefix+"/layout", ""); rec.Code != http.StatusOK || decode[LayoutAnswer](t, rec.Body).Source != "org" {
		t.Fatalf("reset: %d", rec.Code)
	}
	if !(Route{http.MethodPost, Prefix + "/layout/org", PermWrite}).OrgSetting() || (Route{http.MethodPost, Prefix + "/layout", PermWrite}).OrgSetting() {
		t.Error("OrgSetting marks the wrong routes")
	}
}

// TestLayoutBadInput: names that are not API names, too many, an unknown
// code or none to share are refused with words, and nothing is stored.
func TestLayoutBadInput(t *testing.T) {
	f := newFixture(t)
	many := strings.Repeat(`"Obj",`, maxLayoutObjects) + `"Obj"` // one too many
	for name, body := range map[string]string{
		"injection":      `{"search":["Lead; DROP"]}`,
		"bad field":      `{"fields":{"Lead":["Last Name"]}}`,
		"too many":       `{"create":[` + many + `]}`,
		"unknown member": `{"colour":"red"}`,
		"not json":       `create=Lead`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := f.json("ann", http.MethodPost, Prefix+"/layout", body)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%d %s, want 400", rec.Code, rec.Body)
			}
		})
	}
	if got := f.json("ann", http.MethodGet, Prefix+"/layout", "").Body.String(); !strings.Contains(got, `"source":"default"`) {
		t.Errorf("a refused layout was stored: %s", got)
	}
	if rec := f.json("ann", http.MethodPost, Prefix+"/layout/share", ""); rec.Code != http.StatusConflict {
		t.Errorf("sharing without a layout: %d", rec.Code)
	}
	for _, code := range []string{"", "AAAAAAAAAA", "short", "../../etc"} {
		if rec := f.json("ann", http.MethodPost, Prefix+"/layout/take", `{"code":"`+code+`"}`); rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
			t.Errorf("taking %q: %d", code, rec.Code)
		}
	}
}
