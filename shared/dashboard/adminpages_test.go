package dashboard_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
)

// TestOrgPageLinksConnectorAdminPages: the organisation page links each
// admin page a connector declares (Deps.AdminPages), by the connector's
// title, under Connect's admin route, for the organisation's admin only:
// support and users are not offered it, and the page answers them 403.
func TestOrgPageLinksConnectorAdminPages(t *testing.T) {
	f := newFixture(t)
	const link = `<a href="/api/dashboard/connect/admin/vendor" class="org-admin-page">The vendor&#39;s delegation page</a>`
	status, body, _ := f.call(t, f.admin, "GET", "/api/dashboard/orgs/{org}", "", false)
	if status != http.StatusOK || !strings.Contains(body, link) {
		t.Fatalf("the organisation page for its admin: %d, without the link %s:\n%.600s", status, link, body)
	}
	for name, p := range map[string]access.Principal{"support": f.support, "user": f.user} {
		if _, body, _ := f.call(t, p, "GET", "/api/dashboard/orgs/{org}", "", false); strings.Contains(body, "org-admin-page") {
			t.Errorf("%s is offered the connector's admin page", name)
		}
		if status, _, _ := f.call(t, p, "GET", "/api/dashboard/connect/admin/vendor", "", false); status != http.StatusForbidden {
			t.Errorf("%s opening the connector's admin page: %d, want 403", name, status)
		}
	}
}
