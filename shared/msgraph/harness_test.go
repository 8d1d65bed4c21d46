package msgraph

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/side/sidetest"
)

// graphHarness acts in a mailbox through Graph directly, as the user's
// Outlook would; it works against the local Graph and a real tenant alike.
type graphHarness struct {
	side   *Side
	expire func()
}

var _ sidetest.MailboxHarness = (*graphHarness)(nil)

func (h *graphHarness) Mailbox() side.Mailbox { return h.side }

func (h *graphHarness) collection(ctx context.Context, kind item.Kind) (string, error) {
	mb := h.side.c.mailbox()
	switch kind {
	case item.Contact:
		fid, err := h.side.contactFolder(ctx, emptyScope)
		return mb + "/contactFolders/" + fid + "/contacts", err
	case item.Task:
		lid, err := h.side.taskList(ctx, emptyScope)
		return mb + "/todo/lists/" + lid + "/tasks", err
	}
	return mb + "/events", nil
}

func (h *graphHarness) body(kind item.Kind, f map[string]string) (map[string]any, error) {
	switch kind {
	case item.Contact:
		return contactBody(f), nil
	case item.Task:
		return taskBody(f)
	}
	return eventBody(f, time.Time{})
}

func (h *graphHarness) Create(ctx context.Context, kind item.Kind, f map[string]string, cats []string) (string, error) {
	path, err := h.collection(ctx, kind)
	if err != nil {
		return "", err
	}
	b, err := h.body(kind, f)
	if err != nil {
		return "", err
	}
	if cats != nil {
		b["categories"] = cats
	}
	var got struct {
		ID string `json:"id"`
	}
	err = h.side.c.sendJSON(ctx, http.MethodPost, path, b, &got)
	return got.ID, err
}

func (h *graphHarness) Update(ctx context.Context, kind item.Kind, id string, f map[string]string) error {
	path, err := h.side.itemPath(ctx, kind, id)
	if err != nil {
		return err
	}
	b, err := h.body(kind, f)
	if err != nil {
		return err
	}
	return h.side.c.sendJSON(ctx, http.MethodPatch, path, b, nil)
}

func (h *graphHarness) Delete(ctx context.Context, kind item.Kind, id string) error {
	path, err := h.side.itemPath(ctx, kind, id)
	if err != nil {
		return err
	}
	return h.side.c.sendJSON(ctx, http.MethodDelete, path, nil, nil)
}

func (h *graphHarness) SetCategories(ctx context.Context, kind item.Kind, id string, cats []string) error {
	path, err := h.side.itemPath(ctx, kind, id)
	if err != nil {
		return err
	}
	return h.side.c.sendJSON(ctx, http.MethodPatch, path, map[string]any{"categories": cats}, nil)
}

func (h *graphHarness) Categories(ctx context.Context, kind item.Kind, id string) ([]string, error) {
	path, err := h.side.itemPath(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	var w struct {
		Categories []string `json:"categories"`
	}
	err = h.side.c.getJSON(ctx, path+"?$select=categories", &w)
	return w.Categories, err
}

func (h *graphHarness) Email(ctx context.Context, subject string, inShare bool, cats []string, name string, content []byte) (string, error) {
	folder := "inbox"
	if inShare {
		fid, err := h.side.shareFolder(ctx, emptyScope)
		if err != nil {
			return "", err
		}
		folder = fid
	}
	b := map[string]any{
		"subject":      subject,
		"body":         wireBody{ContentType: "text", Content: "Hello from the conformance suite."},
		"toRecipients": []wireRecipient{{EmailAddress: wireEmail{Address: "someone@example.com"}}},
		"attachments": []map[string]any{{"@odata.type": "#microsoft.graph.fileAttachment", "name": name,
			"contentType": "text/plain", "contentBytes": base64.StdEncoding.EncodeToString(content)}},
	}
	if cats != nil {
		b["categories"] = cats
	}
	var got struct {
		ID string `json:"id"`
	}
	err := h.side.c.sendJSON(ctx, http.MethodPost, h.side.c.mailbox()+"/mailFolders/"+folder+"/messages", b, &got)
	return got.ID, err
}

// expirable wraps a harness that can expire cursors (the local Graph only).
type expirable struct{ *graphHarness }

func (e expirable) ExpireCursors() { e.expire() }

// localGraph starts a local Graph with one mailbox and returns it with a Side.
func localGraph(t testing.TB, opts fakegraph.Options) (*fakegraph.Server, *Side, string) {
	t.Helper()
	fg := fakegraph.New(opts)
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "Test User")
	c, err := New(Options{
		BaseURL:     "http://graph.local/v1.0",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fg.Token(upn), TokenType: "Bearer"}),
		HTTPClient:  &http.Client{Transport: fg.Transport()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fg, NewSide(c, SideOptions{}), upn
}

func TestConformanceLocalGraph(t *testing.T) {
	sidetest.RunMailbox(t, func(t *testing.T) sidetest.MailboxHarness {
		fg, side, upn := localGraph(t, fakegraph.Options{})
		return expirable{&graphHarness{side: side, expire: func() { fg.ExpireDeltaTokens(upn) }}}
	})
}

// TestConformanceRealTenant runs the suite against a Microsoft 365 test
// tenant with app-only credentials: GRAPH_TENANT_ID, GRAPH_CLIENT_ID,
// GRAPH_CLIENT_SECRET and GRAPH_USER (the test mailbox).
func TestConformanceRealTenant(t *testing.T) {
	names := []string{"GRAPH_TENANT_ID", "GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET", "GRAPH_USER"}
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Skipf("no real tenant: set %s", strings.Join(missing, ", "))
	}
	cc := clientcredentials.Config{
		ClientID: os.Getenv("GRAPH_CLIENT_ID"), ClientSecret: os.Getenv("GRAPH_CLIENT_SECRET"),
		TokenURL: "https://login.microsoftonline.com/" + os.Getenv("GRAPH_TENANT_ID") + "/oauth2/v2.0/token",
		Scopes:   []string{"https://graph.microsoft.com/.default"},
	}
	sidetest.RunMailbox(t, func(t *testing.T) sidetest.MailboxHarness {
		c, err := New(Options{User: os.Getenv("GRAPH_USER"), TokenSource: cc.TokenSource(context.Background())})
		if err != nil {
			t.Fatal(err)
		}
		return &realHarness{graphHarness{side: NewSide(c, SideOptions{})}}
	})
}

// realHarness cannot expire a real tenant's sync state.
type realHarness struct{ graphHarness }
