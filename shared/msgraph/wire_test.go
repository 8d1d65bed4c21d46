package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// The samples under testdata/samples are reconstructed from Microsoft's
// documentation examples (see SOURCE.md there).

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeContactDeltaSample(t *testing.T) {
	b := string(sample(t, "contact-delta.json"))
	// The sample is a first page; the client follows its nextLink.
	c, s := scriptedClient(t, answer(200, b), answer(200, `{"value":[],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/me/contactfolders/x/contacts/delta?$deltatoken=abc"}`))
	entries, link, err := c.delta(t.Context(), "me/contactFolders/x/contacts/delta", 0)
	if err != nil || len(entries) != 2 || !strings.Contains(link, "$deltatoken=abc") {
		t.Fatalf("delta: %d entries, link %q, %v", len(entries), link, err)
	}
	if got := s.seen[1].URL.String(); !strings.Contains(got, "$skiptoken=R0usmcCM996atia_s") {
		t.Errorf("second request %q did not follow the nextLink as given", got)
	}
	var w wireContact
	if err := json.Unmarshal(entries[0], &w); err != nil {
		t.Fatal(err)
	}
	got := contactRecord(w)
	want := map[string]string{
		item.FirstName: "Pavel", item.LastName: "Bansky", item.Email: "pavel@contoso.onmicrosoft.com", item.Phone: "+1 732 555 0102",
		item.MobilePhone: "", item.Title: "Software Engineer", item.Department: "Engineering", item.MailingStreet: "123 Some Street",
		item.MailingCity: "Seattle", item.MailingState: "WA", item.MailingPostalCode: "98121", item.MailingCountry: "USA",
	}
	if d := cmp.Diff(want, got.Fields); d != "" {
		t.Errorf("contact fields (-want +got):\n%s", d)
	}
	if got.Version != "EQAAABYAAAB4ITAEvMjKRZ55lhGKJpTCAAARcb4O" || got.Modified.IsZero() {
		t.Errorf("version %q modified %v", got.Version, got.Modified)
	}
	var rm wireContact
	if err := json.Unmarshal(entries[1], &rm); err != nil || rm.Removed == nil || rm.Removed.Reason != "deleted" {
		t.Errorf("removal entry: %+v, %v", rm, err)
	}
}

func TestDecodeEventDeltaSample(t *testing.T) {
	var p wirePage
	if err := json.Unmarshal(sample(t, "event-delta.json"), &p); err != nil {
		t.Fatal(err)
	}
	var evs []wireEvent
	for _, raw := range p.Value {
		var w wireEvent
		if err := json.Unmarshal(raw, &w); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, w)
	}
	single, err := eventRecord(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		item.Subject: "Plan summer company picnic", item.Start: "2016-12-12T02:00:00Z", item.End: "2016-12-12T03:00:00Z",
		item.AllDay: "false", item.Location: "Conf Room 3", item.Description: "Let's kick-start this event planning!",
		item.Attendees: "alexw@contoso.onmicrosoft.com,danas@contoso.onmicrosoft.com", item.Recurrence: "", item.TimeZone: "",
		item.Invitation: "false", item.Organizer: "samanthab@contoso.onmicrosoft.com",
	}
	if d := cmp.Diff(want, single.Fields); d != "" {
		t.Errorf("single event (-want +got):\n%s", d)
	}
	if evs[1].Type != "occurrence" || evs[1].SeriesMasterID != "AAMkADSeries=" {
		t.Errorf("occurrence: %+v", evs[1])
	}
	exc, err := eventRecord(evs[2])
	if err != nil || exc.Fields[item.SeriesID] != "AAMkADSeries=" || exc.Fields[item.OriginalStart] != "2016-12-20T17:00:00Z" {
		t.Errorf("exception: %+v, %v", exc.Fields, err)
	}
	if evs[3].Removed == nil {
		t.Errorf("removal not decoded")
	}
	if !strings.Contains(p.DeltaLink, "$deltatoken=") {
		t.Errorf("deltaLink %q", p.DeltaLink)
	}
}

func TestDecodeTodoTaskDeltaSample(t *testing.T) {
	var p wirePage
	if err := json.Unmarshal(sample(t, "todotask-delta.json"), &p); err != nil {
		t.Fatal(err)
	}
	var w wireTask
	if err := json.Unmarshal(p.Value[0], &w); err != nil {
		t.Fatal(err)
	}
	got := taskRecord(w)
	want := map[string]string{item.Subject: "Shop for children's weekend", item.DueDate: "2020-07-25", item.Status: "InProgress", item.Priority: "High", item.Description: "Buy a kite"}
	if d := cmp.Diff(want, got.Fields); d != "" {
		t.Errorf("task (-want +got):\n%s", d)
	}
	if got.Marker != "marker-42" || got.Version == "" || len(got.Categories) != 1 {
		t.Errorf("marker %q version %q categories %v", got.Marker, got.Version, got.Categories)
	}
}

func TestDecodeMessageSample(t *testing.T) {
	var w wireMessage
	if err := json.Unmarshal(sample(t, "message.json"), &w); err != nil {
		t.Fatal(err)
	}
	got := emailRecord(w, "meganb@contoso.onmicrosoft.com")
	want := map[string]string{
		item.Subject: "Meet for lunch?", item.From: "adelev@contoso.onmicrosoft.com", item.To: "meganb@contoso.onmicrosoft.com",
		item.Cc: "alexw@contoso.onmicrosoft.com", item.Sent: "2021-08-13T08:40:16Z", item.Direction: "Inbound",
		item.Description: "The new cafeteria is open.", item.MessageID: "<PH0PR11MB4871@PH0PR11MB4871.namprd11.prod.outlook.com>",
	}
	if d := cmp.Diff(want, got.Fields); d != "" {
		t.Errorf("message (-want +got):\n%s", d)
	}
	if out := emailRecord(w, "adelev@contoso.onmicrosoft.com"); out.Fields[item.Direction] != "Outbound" {
		t.Errorf("a message from the owner is %q, want Outbound", out.Fields[item.Direction])
	}
}

func TestDecodeBatchResponseSample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := scriptedClient(t,
			answer(200, string(sample(t, "batch-response.json"))),
			answer(200, `{"responses":[{"id":"4","status":201,"body":{"id":"new-4"}}]}`))
		start := time.Now()
		res, err := c.batch(t.Context(), []part{
			{method: http.MethodGet, path: "me/drive/root/children"},
			{method: http.MethodGet, path: "me/x", dependsOn: []int{2}},
			{method: http.MethodGet, path: "me/y"},
			{method: http.MethodPost, path: "me/contacts", body: map[string]string{"surname": "S"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].err != nil || res[1].status != 424 || !fault.Is(res[1].err, fault.Temporary) || !fault.Is(res[2].err, fault.Reconnect) || res[3].err != nil {
			t.Errorf("results: %+v", res)
		}
		if got := time.Since(start); got != 12*time.Second {
			t.Errorf("waited %v for the throttled part, want its Retry-After of 12s", got)
		}
		if len(s.seen) != 2 {
			t.Errorf("requests = %d, want 2 (the batch, then the throttled part alone)", len(s.seen))
		}
	})
}

func TestDecodeSubscriptionAndErrorSamples(t *testing.T) {
	var sub wireSubscription
	if err := json.Unmarshal(sample(t, "subscription.json"), &sub); err != nil || sub.ID == "" || parseInstant(sub.ExpirationDateTime).IsZero() {
		t.Errorf("subscription: %+v, %v", sub, err)
	}
	var life wireNotifications
	if err := json.Unmarshal(sample(t, "lifecycle.json"), &life); err != nil || life.Value[0].LifecycleEvent != "reauthorizationRequired" {
		t.Errorf("lifecycle: %+v, %v", life, err)
	}
	if err := classify(429, http.Header{"Retry-After": {"2"}}, sample(t, "error-throttled.json"), nil); !fault.Is(err, fault.Throttled) || fault.RetryAfterOf(err) != 2*time.Second {
		t.Errorf("throttled sample: %v", err)
	}
	if err := classify(410, nil, sample(t, "error-syncstate.json"), nil); !fault.Is(err, fault.Expired) {
		t.Errorf("sync state sample: %v", err)
	}
}

func TestNotificationSampleStartsASession(t *testing.T) {
	store := newMemStore()
	subs, err := NewSubscriptions(SubscriptionOptions{Store: store, Key: testKey, NotificationURL: "https://hook.example/api/notifications",
		Clients: func(context.Context, string) (*Client, error) { return nil, errors.New("no clients in this test") }})
	if err != nil {
		t.Fatal(err)
	}
	rec := SubscriptionRecord{ID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", User: "user-7", Resource: "me/mailFolders('Inbox')/messages",
		Expires: time.Now().Add(time.Hour), stateMAC: subs.mac("secretClientValue")}
	if err := subs.put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	q := &enqueued{}
	h := NotificationHandler(NotificationOptions{Subscriptions: subs, Enqueue: q.enqueue})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/notifications", strings.NewReader(string(sample(t, "notifications.json")))))
	if w.Code != http.StatusAccepted || len(q.got()) != 1 || q.got()[0] != "user-7" {
		t.Errorf("status %d, enqueued %v; want 202 and user-7", w.Code, q.got())
	}
}

// TestLocalGraphAnswersInTheSampleShapes checks that every property the
// client reads from a documented sample is also in the local Graph's answer.
func TestLocalGraphAnswersInTheSampleShapes(t *testing.T) {
	fg := fakegraph.New(fakegraph.Options{})
	fakegraph.SeedDemo(fg, time.Now())
	srv := httptest.NewServer(fg)
	defer srv.Close()
	tok := fg.Token(fakegraph.DemoUser)
	get := func(path string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/me/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := func(page map[string]any) map[string]any {
		v, _ := page["value"].([]any)
		if len(v) == 0 {
			t.Fatalf("empty page: %v", page)
		}
		m, _ := v[0].(map[string]any)
		return m
	}
	folderID := func(path, name string) string {
		for _, f := range get(path)["value"].([]any) {
			if m := f.(map[string]any); m["displayName"] == name {
				return m["id"].(string)
			}
		}
		t.Fatalf("no %s %q", path, name)
		return ""
	}
	sampleItem := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(sample(t, name), &m); err != nil {
			t.Fatal(err)
		}
		if v, ok := m["value"].([]any); ok {
			return v[0].(map[string]any)
		}
		return m
	}
	now := time.Now().UTC()
	tests := []struct {
		name   string
		sample map[string]any
		local  map[string]any
		keys   []string
	}{
		{"contact", sampleItem("contact-delta.json"), first(get("contactFolders/" + folderID("contactFolders", "Business Contacts") + "/contacts/delta")),
			[]string{"id", "@odata.etag", "changeKey", "lastModifiedDateTime", "givenName", "surname", "emailAddresses", "businessPhones", "jobTitle", "businessAddress", "categories", "parentFolderId"}},
		{"event", sampleItem("event-delta.json"), first(get("calendarView/delta?startDateTime=" + now.AddDate(0, 0, -14).Format(time.RFC3339) + "&endDateTime=" + now.AddDate(0, 0, 28).Format(time.RFC3339))),
			[]string{"id", "changeKey", "lastModifiedDateTime", "subject", "start", "end", "type", "categories"}},
		{"task", sampleItem("todotask-delta.json"), first(get("todo/lists/" + folderID("todo/lists", "Business Tasks") + "/tasks/delta?$expand=linkedResources")),
			[]string{"id", "@odata.etag", "lastModifiedDateTime", "title", "status", "importance", "categories"}},
		{"message", sampleItem("message.json"), first(get("mailFolders/" + folderID("mailFolders", "Salesforce Emails") + "/messages")),
			[]string{"id", "changeKey", "lastModifiedDateTime", "subject", "body", "from", "toRecipients", "sentDateTime", "receivedDateTime", "categories", "hasAttachments", "parentFolderId"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range tc.keys {
				if _, ok := tc.sample[k]; !ok {
					t.Errorf("the documented sample lacks %q (test is wrong)", k)
				}
				if _, ok := tc.local[k]; !ok {
					t.Errorf("the local Graph's %s lacks %q", tc.name, k)
				}
			}
		})
	}
}
