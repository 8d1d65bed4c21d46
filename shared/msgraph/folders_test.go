package msgraph

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
)

// recordedGraph is a client of a fresh mailbox of the local Graph whose
// requests are recorded.
func recordedGraph(t *testing.T) (*Client, *recorder) {
	t.Helper()
	fg := fakegraph.New(fakegraph.Options{})
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "U")
	rec := &recorder{next: fg.Transport()}
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: rec},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fg.Token(upn)})})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// masterCategories lists the names on the mailbox's master category list.
func masterCategories(t *testing.T, c *Client) []string {
	t.Helper()
	raw, err := c.list(t.Context(), c.mailbox()+"/outlook/masterCategories")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range raw {
		var cat wireCategory
		if err := json.Unmarshal(r, &cat); err != nil {
			t.Fatal(err)
		}
		names = append(names, cat.DisplayName)
	}
	slices.Sort(names)
	return names
}

func TestEnsureCategoriesAddsEachOnce(t *testing.T) {
	c, rec := recordedGraph(t)
	ctx := t.Context()
	if err := c.EnsureCategories(ctx, DefaultShareCategory, DefaultIssueCategory); err != nil {
		t.Fatalf("first EnsureCategories: %v", err)
	}
	want := []string{"Salesforce", "Sync Error"}
	if got := masterCategories(t, c); !slices.Equal(got, want) {
		t.Errorf("master categories = %q, want %q", got, want)
	}
	if got, want := len(rec.writes()), 2; got != want {
		t.Errorf("first call made %d writes (%q), want %d", got, rec.writes(), want)
	}

	before := len(rec.writes())
	// Again, in another case and with a name given twice: nothing to add.
	if err := c.EnsureCategories(ctx, "salesforce", DefaultIssueCategory, DefaultIssueCategory); err != nil {
		t.Fatalf("second EnsureCategories: %v", err)
	}
	if got := rec.writes()[before:]; len(got) != 0 {
		t.Errorf("second call wrote %q, want nothing", got)
	}
	if got := masterCategories(t, c); !slices.Equal(got, want) {
		t.Errorf("master categories after the second call = %q, want %q", got, want)
	}
}

func TestEnsureCategoriesAddsANameGivenTwiceOnce(t *testing.T) {
	c, rec := recordedGraph(t)
	if err := c.EnsureCategories(t.Context(), "Sync Error", "sync error"); err != nil {
		t.Fatalf("EnsureCategories: %v", err)
	}
	if got, want := len(rec.writes()), 1; got != want {
		t.Errorf("writes = %q, want %d", rec.writes(), want)
	}
	if got, want := masterCategories(t, c), []string{"Sync Error"}; !slices.Equal(got, want) {
		t.Errorf("master categories = %q, want %q", got, want)
	}
}

func TestEnsureCategoriesSurvivesAnAddRace(t *testing.T) {
	c, s := scriptedClient(t,
		answer(200, `{"value":[]}`),
		answer(409, `{"error":{"code":"ErrorFolderExists","message":"A folder with the specified name already exists."}}`),
		answer(201, `{"id":"C2","displayName":"Sync Error","color":"preset0"}`))
	if err := c.EnsureCategories(t.Context(), DefaultShareCategory, DefaultIssueCategory); err != nil {
		t.Errorf("EnsureCategories when another session added one meanwhile: %v, want nil", err)
	}
	if got, want := len(s.seen), 3; got != want {
		t.Errorf("requests = %d, want %d (a list and two adds)", got, want)
	}
}

// TestSideEnsuresCategoriesOncePerSide: a Side asks Graph once, however many
// rounds it runs.
func TestSideEnsuresCategoriesOncePerSide(t *testing.T) {
	c, rec := recordedGraph(t)
	side := NewSide(c, SideOptions{})
	for i := range 3 {
		if err := side.ensureCategories(t.Context()); err != nil {
			t.Fatalf("ensureCategories #%d: %v", i+1, err)
		}
	}
	var lists int
	rec.mu.Lock()
	for _, call := range rec.calls {
		if call == "GET /v1.0/me/outlook/masterCategories" {
			lists++
		}
	}
	rec.mu.Unlock()
	if got, want := lists, 1; got != want {
		t.Errorf("master list read %d times over three rounds, want %d (calls %q)", got, want, rec.calls)
	}
	if got, want := masterCategories(t, c), []string{"Salesforce", "Sync Error"}; !slices.Equal(got, want) {
		t.Errorf("master categories = %q, want %q", got, want)
	}
}
