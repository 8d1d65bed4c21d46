package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/tracking"
)

// fakeSubjects stands in for the user's Sent Items: subjects by message
// id, found by the hash tracking keeps, as sides.SentSubjects finds them.
type fakeSubjects struct {
	mu   sync.Mutex
	hash func(user, id string) string
	byID map[string]string
	err  error
}

func (s *fakeSubjects) set(hash func(user, id string) string, byID map[string]string, err error) {
	s.mu.Lock()
	s.hash, s.byID, s.err = hash, byID, err
	s.mu.Unlock()
}

func (s *fakeSubjects) Subjects(_ context.Context, user string, hashes []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	out := map[string]string{}
	for id, subject := range s.byID {
		for _, h := range hashes {
			if s.hash(user, id) == h {
				out[h] = subject
			}
		}
	}
	return out, nil
}

// open fetches a message's pixel as a client at ip with agent ua.
func open(f *fixture, token, ip, ua string) {
	req := httptest.NewRequest(http.MethodGet, tracking.Prefix+"/"+token+".gif", nil)
	req.RemoteAddr = ip + ":4242"
	req.Header.Set("User-Agent", ua)
	f.tracker.ServeHTTP(httptest.NewRecorder(), req)
}

// TestBrowserTrackedOpens: tracking starts off; the user turns it on from
// the Tracked e-mails page; a tracked message's opens are listed with its
// subject read live — an Apple Mail Privacy Protection fetch as a machine,
// an Outlook open as a person — and a message no longer in Sent Items is
// said to be gone; turning tracking off keeps the list. 1280 and 390 px.
func TestBrowserTrackedOpens(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			b := browsertest.New(t, f.srv.URL, width)
			signInAs(t, b, "s-user")
			b.Click(`nav a[href="` + dashboard.Prefix + `/tracked"]`)
			b.Expect("Tracked e-mails", []string{"Open tracking is off", "No tracked messages yet"})
			if _, _, err := f.tracker.Mint(ctx, f.user.User, "AAMkProposal=", 2); err == nil {
				t.Fatal("a token was minted while tracking is off")
			}
			b.Click("#toggle-tracking")
			b.Expect("Tracked e-mails", []string{"Open tracking is on"})
			if on, _ := f.tracker.Enabled(ctx, f.user.User); !on {
				t.Fatal("tracking is not on after turning it on")
			}
			// Sent an hour ago (minted on a clock set back), so that the
			// opens now are not taken for prefetches; the session's own
			// clock stays where it is.
			f.now = f.now.Add(-time.Hour)
			tok, _, err := f.tracker.Mint(ctx, f.user.User, "AAMkProposal=", 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.tracker.Mint(ctx, f.user.User, "AAMkDeleted=", 1); err != nil {
				t.Fatal(err)
			}
			f.now = f.now.Add(time.Hour)
			open(f, tok, "17.58.101.4", "Mozilla/5.0")
			open(f, tok, "198.51.100.20", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)")
			f.subjects.set(f.tracker.MessageHash, map[string]string{"AAMkProposal=": "Proposal for Acme"}, nil)
			b.Open(dashboard.Prefix + "/tracked")
			b.Expect("Tracked e-mails", []string{"Proposal for Acme", "to 2 recipients", "2 opens",
				"A machine, not a person (apple mail privacy protection)", "A person (", "A message no longer in your Sent Items"},
				"AAMkProposal=", "17.58.101.4", "198.51.100.20")
			b.Click("#toggle-tracking")
			b.Expect("Tracked e-mails", []string{"Open tracking is off", "Proposal for Acme"})
		})
	}
}

// TestTrackedPageWithoutTheMailbox: when the mailbox cannot be asked, the
// page still lists the opens and says why subjects are missing (nothing is
// said to be gone); a forged choice is refused by name.
func TestTrackedPageWithoutTheMailbox(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.tracker.SetEnabled(ctx, f.user.User, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.tracker.Mint(ctx, f.user.User, "AAMkOne=", 1); err != nil {
		t.Fatal(err)
	}
	f.subjects.set(f.tracker.MessageHash, nil, fmt.Errorf("graph: needs reconnect"))
	code, body, _ := f.call(t, f.user, http.MethodGet, dashboard.Prefix+"/tracked", "", false)
	if code != http.StatusOK || !strings.Contains(body, "could not be asked for the subjects") || strings.Contains(body, "no longer in your Sent Items") ||
		!strings.Contains(body, "A tracked message") {
		t.Errorf("status %d; want the list with a note instead of subjects", code)
	}
	code, body, _ = f.call(t, f.user, http.MethodPost, dashboard.Prefix+"/tracked", "on=maybe&csrf_token="+csrfFor(f.user.User), false)
	if code != http.StatusBadRequest || !strings.Contains(body, "true or false") {
		t.Errorf("on=maybe: %d, want 400 naming the values", code)
	}
}
