package google

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/side/sidetest"
)

// googleHarness acts in the mailbox through the APIs directly, as the
// user's Google apps would; it works against the local Google and a real
// account alike.
type googleHarness struct {
	side   *Side
	expire func()
}

var _ sidetest.MailboxHarness = (*googleHarness)(nil)

func (h *googleHarness) Mailbox() side.Mailbox { return h.side }

func (h *googleHarness) Create(ctx context.Context, kind item.Kind, f map[string]string, cats []string) (string, error) {
	switch kind {
	case item.Contact:
		return h.side.createPerson(ctx, f, "", DefaultGroup, cats)
	case item.Task:
		return h.side.insertTask(ctx, item.Scope{}, f, "")
	}
	return h.side.createEvent(ctx, f, "")
}

func (h *googleHarness) Update(ctx context.Context, kind item.Kind, id string, f map[string]string) error {
	switch kind {
	case item.Contact:
		return h.side.updateContact(ctx, id, f)
	case item.Task:
		return h.side.updateTask(ctx, id, f)
	}
	return h.side.updateEvent(ctx, id, f)
}

func (h *googleHarness) Delete(ctx context.Context, kind item.Kind, id string) error {
	switch kind {
	case item.Contact:
		return h.side.deleteContact(ctx, id)
	case item.Task:
		return h.side.deleteTask(ctx, id)
	}
	return h.side.deleteEvent(ctx, id)
}

var errOnlyContacts = errors.New("only contacts carry categories (contact groups) in Google")

func (h *googleHarness) SetCategories(ctx context.Context, kind item.Kind, id string, cats []string) error {
	if kind != item.Contact {
		return errOnlyContacts
	}
	have, err := h.Categories(ctx, kind, id)
	if err != nil {
		return err
	}
	return h.side.setGroups(ctx, id, cats, have)
}

func (h *googleHarness) Categories(ctx context.Context, kind item.Kind, id string) ([]string, error) {
	if kind != item.Contact {
		return nil, errOnlyContacts
	}
	p, err := h.side.getPerson(ctx, id)
	if err != nil {
		return nil, err
	}
	_, names, err := h.side.groupsByName(ctx)
	if err != nil {
		return nil, err
	}
	res, err := h.side.group(ctx, DefaultGroup)
	return p.categories(names, res), err
}

// Email puts a message with one attachment in the mailbox (messages.insert),
// labelled with the share label or the categories' labels.
func (h *googleHarness) Email(ctx context.Context, subject string, inShare bool, cats []string, name string, content []byte) (string, error) {
	labels := []string{"INBOX"}
	names := slices.Clone(cats)
	if inShare {
		names = append(names, DefaultShareLabel)
	}
	for _, n := range names {
		id, err := h.side.label(ctx, n)
		if err != nil {
			return "", err
		}
		labels = append(labels, id)
	}
	var b strings.Builder
	b.WriteString("From: Ann Lee <ann@example.com>\r\nTo: user@example.test\r\nSubject: " + subject + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n")
	b.WriteString("--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello from the conformance suite.\r\n")
	b.WriteString("--b1\r\nContent-Type: text/plain; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64.StdEncoding.EncodeToString(content) + "\r\n--b1--\r\n")
	var got struct {
		ID string `json:"id"`
	}
	err := h.side.c.do(ctx, "POST", h.side.c.gmail+"/gmail/v1/users/me/messages", map[string]any{
		"raw": base64.URLEncoding.EncodeToString([]byte(b.String())), "labelIds": labels}, &got)
	return got.ID, err
}

// expirable can expire the local Google's sync tokens.
type expirable struct{ *googleHarness }

func (e expirable) ExpireCursors() { e.expire() }

const testUser = "user@example.test"

// localGoogle starts a local Google with one user and returns a Side on it.
func localGoogle(t testing.TB) (*fakegoogle.Server, *Side) {
	return localGoogleWith(t, fakegoogle.Options{})
}

func localGoogleWith(t testing.TB, opts fakegoogle.Options) (*fakegoogle.Server, *Side) {
	t.Helper()
	fg := fakegoogle.New(opts)
	access, _ := fg.AddUser(testUser)
	c, err := New(Options{
		BaseURL:     "http://google.local",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}),
		HTTPClient:  &http.Client{Transport: fg.Transport()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fg, NewSide(c)
}

func TestConformanceLocalGoogle(t *testing.T) {
	sidetest.RunMailbox(t, func(t *testing.T) sidetest.MailboxHarness {
		fg, s := localGoogle(t)
		return expirable{&googleHarness{side: s, expire: func() { fg.ExpireSyncTokens(testUser) }}}
	})
}

// TestConformanceRealAccount runs the suite against a real Google account
// with a user's OAuth client and refresh token: GOOGLE_CLIENT_ID,
// GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN (the scopes of Scopes).
func TestConformanceRealAccount(t *testing.T) {
	names := []string{"GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_REFRESH_TOKEN"}
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Skipf("no real Google account: set %s", strings.Join(missing, ", "))
	}
	cfg := OAuthConfig(os.Getenv("GOOGLE_CLIENT_ID"), os.Getenv("GOOGLE_CLIENT_SECRET"), "", "")
	sidetest.RunMailbox(t, func(t *testing.T) sidetest.MailboxHarness {
		c, err := New(Options{TokenSource: cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: os.Getenv("GOOGLE_REFRESH_TOKEN")})})
		if err != nil {
			t.Fatal(err)
		}
		return &googleHarness{side: NewSide(c)}
	})
}
