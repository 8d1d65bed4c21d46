package addin

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// feedlessCRM is a CRM without a record feed, whose shared e-mails cannot
// be related to a picked record, and whose Cases are tickets.
type feedlessCRM struct{ *fakeCRM }

func (feedlessCRM) HasFeed() bool                   { return false }
func (feedlessCRM) RelatesShares() bool             { return false }
func (feedlessCRM) FileObjects() []string           { return []string{"Contact", "Account"} }
func (feedlessCRM) ObjectLabels() map[string]string { return map[string]string{"Case": "Ticket"} }

type feedlessOpener struct{ crm *fakeCRM }

func (o feedlessOpener) OpenCRM(ctx context.Context, user string) (CRM, error) {
	return feedlessCRM{o.crm}, nil
}

// TestCRMInfo: GET /crm names the deployment's CRM and says whether it has
// a feed to post to, whether a shared e-mail can be related to a picked
// record, which objects keep files, what it calls the add-in's objects and
// which mailbox category shares an item into it (Salesforce's unless the
// deployment's connector says otherwise); a CRM that
// says nothing has a feed (Salesforce); anonymous callers get nothing.
func TestCRMInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want CRMInfo
	}{
		{"unnamed", nil, CRMInfo{Name: "the CRM", Feed: true, Relate: true, Category: "Salesforce"}},
		{"named", func(c *Config) { c.CRMName = "Salesforce" }, CRMInfo{Name: "Salesforce", Feed: true, Relate: true, Category: "Salesforce"}},
		{"feedless", func(c *Config) {
			c.CRMName, c.ShareCategory = "SAP Cloud for Customer", "SAP C4C"
			c.CRM = feedlessOpener{newFakeCRM()}
		}, CRMInfo{Name: "SAP Cloud for Customer", FileOn: []string{"Contact", "Account"}, Labels: map[string]string{"Case": "Ticket"}, Category: "SAP C4C"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*Config)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			f := newFixture(t, mods...)
			rec := f.json("u1", http.MethodGet, Prefix+"/crm", "")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /crm: %d %s", rec.Code, rec.Body)
			}
			var got CRMInfo
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("GET /crm = %+v, want %+v", got, tc.want)
			}
			if rec := f.json("", http.MethodGet, Prefix+"/crm", ""); rec.Code != http.StatusUnauthorized {
				t.Errorf("anonymous GET /crm: %d", rec.Code)
			}
		})
	}
}

// TestBusinessIDPaths: a record path may name a C4C account by its
// business ID (digits), as the account pane does; other short ids stay
// refused before any CRM call.
func TestBusinessIDPaths(t *testing.T) {
	f := newFixture(t)
	if rec := f.json("u1", http.MethodGet, Prefix+"/records/Account/1000001", ""); rec.Code == http.StatusBadRequest {
		t.Errorf("a business ID in the path: %d %s", rec.Code, rec.Body)
	}
	for _, id := range []string{"short", "12345678901", "1000001%27"} {
		if rec := f.json("u1", http.MethodGet, Prefix+"/records/Account/"+id, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("id %q: %d, want 400", id, rec.Code)
		}
	}
}
