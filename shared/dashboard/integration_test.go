package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
)

// fakeIntegrations is the change detector's integration connections of org
// A, and the connect flow's admin route that sets one up: it records what
// the page forwarded and answers what the test says.
type fakeIntegrations struct {
	mu        sync.Mutex
	list      []dashboard.Integration
	removeErr error
	removed   []string
	// forwarded are the set-up requests the connect route received: path,
	// content type, CSRF header and body.
	forwarded []forwarded
	status    int
	answer    string
}

type forwarded struct{ Path, Type, CSRF, Body string }

func (f *fakeIntegrations) Integrations(ctx context.Context, tenant string) ([]dashboard.Integration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tenant != orgA {
		return nil, nil
	}
	return f.list, nil
}

func (f *fakeIntegrations) RemoveIntegration(ctx context.Context, tenant, crmOrg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
	}
	f.removed = append(f.removed, tenant+"/"+crmOrg)
	return nil
}

func (f *fakeIntegrations) IntegrationNeeds() []string {
	return []string{"a permission the connector names"}
}

func (f *fakeIntegrations) connect(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.forwarded = append(f.forwarded, forwarded{r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("X-CSRF-Token"), string(b)})
	status, answer := f.status, f.answer
	f.mu.Unlock()
	if status == 0 {
		status, answer = http.StatusOK, `{"salesforceOrg":"00DA","status":"connected"}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// TestIntegrationPage: the org admin's change detection page shows the
// integration connection's state in words; its form goes to the connect
// flow's admin route under the CRM connector's provider, with the username
// as JSON and the form's CSRF token, and the flow's refusal comes back in
// its own words with the username kept; an empty username goes nowhere;
// removal says when a poll holds it or there is none. Support and users are
// refused the page and get no link.
func TestIntegrationPage(t *testing.T) {
	f := newFixture(t)
	fi := f.integrations
	fi.list = []dashboard.Integration{{CRMOrg: "00DA", Status: connection.Connected, Polled: true, Up: true,
		LastPoll: time.Date(2026, 12, 4, 9, 1, 0, 0, time.UTC), Behind: 45 * time.Second, Users: 12}}

	status, body, _ := f.call(t, f.admin, "GET", "/api/dashboard/orgs/{org}", "", false)
	if status != http.StatusOK || !strings.Contains(body, `id="org-integration"`) {
		t.Fatalf("the organisation page: %d, no link to change detection:\n%.400s", status, body)
	}
	status, body, _ = f.call(t, f.admin, "GET", "/api/dashboard/orgs/{org}/integration", "", false)
	for _, want := range []string{"Salesforce organisation", "00DA", "Working", "45 seconds", "12 users", "a permission the connector names", "Replace"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	if status != http.StatusOK {
		t.Fatalf("the page: %d", status)
	}
	for name, p := range map[string]access.Principal{"support": f.support, "user": f.user} {
		if status, _, _ := f.call(t, p, "GET", "/api/dashboard/orgs/{org}/integration", "", false); status != http.StatusForbidden {
			t.Errorf("%s opening the page: %d, want 403", name, status)
		}
		if _, body, _ := f.call(t, p, "GET", "/api/dashboard/orgs/{org}", "", false); strings.Contains(body, "org-integration") {
			t.Errorf("%s is offered the link", name)
		}
	}

	// The set-up form (the CSRF token in the header the fixture's calls
	// carry: the page forwards it to the flow).
	fi.status, fi.answer = http.StatusBadGateway, `{"error":"refused","message":"that user is not pre-authorized (invalid_grant)"}`
	status, body, _ = f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration", url.Values{"username": {" int@a.example "}}.Encode(), true)
	if status != http.StatusBadRequest || !strings.Contains(body, "The integration connection was not set up: That user is not pre-authorized (invalid_grant).") ||
		!strings.Contains(body, `value="int@a.example"`) {
		t.Fatalf("a refused set-up: %d\n%.3000s", status, body)
	}
	if len(fi.forwarded) != 1 {
		t.Fatalf("forwarded %d requests", len(fi.forwarded))
	}
	got := fi.forwarded[0]
	var sent map[string]string
	if err := json.Unmarshal([]byte(got.Body), &sent); err != nil || got.Path != dashboard.Prefix+"/connect/admin/salesforce/integration" ||
		got.Type != "application/json" || sent["username"] != "int@a.example" || got.CSRF == "" {
		t.Fatalf("forwarded %+v (%v)", got, err)
	}
	fi.status = 0
	status, _, hdr := f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration", url.Values{"username": {"int@a.example"}}.Encode(), true)
	if status != http.StatusSeeOther || hdr.Get("Location") != dashboard.Prefix+"/orgs/"+orgA+"/integration?msg=integration-saved" {
		t.Fatalf("a set-up: %d to %q", status, hdr.Get("Location"))
	}
	status, body, _ = f.call(t, f.admin, "GET", "/api/dashboard/orgs/{org}/integration?msg=integration-saved", "", false)
	if !strings.Contains(body, "The integration connection is set up.") {
		t.Errorf("after setting up: %d, no confirmation", status)
	}
	n := len(fi.forwarded)
	if status, body, _ := f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration", url.Values{"username": {"  "}}.Encode(), true); status != http.StatusBadRequest ||
		!strings.Contains(body, "fill in the integration user") || len(fi.forwarded) != n {
		t.Fatalf("an empty username: %d, forwarded %d", status, len(fi.forwarded)-n)
	}

	fi.removeErr = dashboard.ErrIntegrationBusy
	if status, body, _ := f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration/remove", url.Values{"crm_org": {"00DA"}}.Encode(), true); status != http.StatusConflict ||
		!strings.Contains(body, "polling the organisation right now") {
		t.Fatalf("removing during a poll: %d", status)
	}
	fi.removeErr = dashboard.ErrNoIntegration
	if status, _, _ := f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration/remove", url.Values{"crm_org": {"00DZ"}}.Encode(), true); status != http.StatusNotFound {
		t.Fatalf("removing one that is not there: %d", status)
	}
	fi.removeErr = nil
	status, _, hdr = f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration/remove", url.Values{"crm_org": {"00DA"}}.Encode(), true)
	if status != http.StatusSeeOther || len(fi.removed) != 1 || fi.removed[0] != orgA+"/00DA" || !strings.HasSuffix(hdr.Get("Location"), "msg=integration-removed") {
		t.Fatalf("removing: %d %v %q", status, fi.removed, hdr.Get("Location"))
	}
	if status, _, _ := f.call(t, f.admin, "POST", "/api/dashboard/orgs/{org}/integration/remove", url.Values{"crm_org": {"00DA"}}.Encode(), false); status != http.StatusForbidden {
		t.Fatalf("removing without the CSRF token: %d, want 403", status)
	}
}
