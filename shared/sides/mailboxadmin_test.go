package sides_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// mailboxAdmin is what the property scenarios do in a mailbox beyond the
// connector's own writes: what the user's mail and calendar apps and their
// colleagues do there, and what the local server's operator does to it
// (faults, limits). The scenario machinery (property_test.go) is otherwise
// mailbox-agnostic: it acts through pworld.mailbox, a side.Mailbox.
type mailboxAdmin interface {
	// shares reports whether the mailbox's events carry a share category
	// (Google Calendar's do not: its events made in the mailbox stay there).
	shares() bool
	// setShare puts the share category on an event or takes it off.
	setShare(s *scenario, eventID string, on bool)
	// invite has a colleague invite the user to a meeting with the fields f
	// and returns the id of the user's copy.
	invite(s *scenario, tok string, f map[string]string) string
	// postEmail puts a copy of e-mail tok from sender in the mailbox, shared
	// by category or by the share folder, and returns its message id.
	postEmail(s *scenario, tok, from string, byCategory bool) string
	// readOrFlag reads or flags one of a shared e-mail's copies: a change
	// that must not share it again.
	readOrFlag(s *scenario, ids []string)
	// chooseCalendars has the user choose calendars besides the default one,
	// where the mailbox can.
	chooseCalendars(s *scenario)
	// fault arms a mailbox fault for the next session (throttling, expired
	// change tokens).
	fault(s *scenario)
	// calm ends transient faults before a clean session.
	calm()
	// checkLimits fails the scenario when the sessions broke a limit of the
	// mailbox's server.
	checkLimits(s *scenario)
}

// graphAdmin is mailboxAdmin for Microsoft 365 through the local Graph.
type graphAdmin struct{ w *pworld }

// newGraphWorld is a property world with a Microsoft 365 mailbox.
func newGraphWorld(t testing.TB) (*pworld, mailboxAdmin) {
	w := newPWorld(t)
	return w, graphAdmin{w}
}

func (graphAdmin) shares() bool { return true }

func (g graphAdmin) setShare(s *scenario, eventID string, on bool) {
	cats := []string{}
	if on {
		cats = []string{"Salesforce"}
	}
	s.must(g.w.graphDo("PATCH", "events/"+eventID, map[string]any{"categories": cats}, nil), "set categories")
}

func (g graphAdmin) invite(s *scenario, tok string, f map[string]string) string {
	body := graphEvent(f)
	body["attendees"] = []any{map[string]any{"emailAddress": map[string]any{"address": upn}, "type": "required"}}
	s.must(g.w.graphDoAs(organizer, "POST", "events", body, nil), "the organizer's meeting")
	var found struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	s.must(g.w.graphDo("GET", "events?$filter="+url.QueryEscape("subject eq '"+f[item.Subject]+"'"), nil, &found), "find the invitation")
	if len(found.Value) != 1 {
		s.fatalf("the invitation %s reached the user %d times", tok, len(found.Value))
	}
	return found.Value[0].ID
}

func (g graphAdmin) postEmail(s *scenario, tok, from string, byCategory bool) string {
	msg := map[string]any{"subject": "Mail " + tok, "body": map[string]any{"contentType": "text", "content": "hello"},
		"from":              map[string]any{"emailAddress": map[string]any{"address": from}},
		"toRecipients":      []any{map[string]any{"emailAddress": map[string]any{"address": upn}}},
		"internetMessageId": "<" + tok + "@scenario.example>",
		"receivedDateTime":  time.Now().UTC().Format(time.RFC3339), "sentDateTime": time.Now().UTC().Format(time.RFC3339)}
	var made struct {
		ID string `json:"id"`
	}
	if byCategory {
		msg["categories"] = []string{"Salesforce"}
		s.must(g.w.graphDo("POST", "messages", msg, &made), "post a message")
		s.logf("mailbox share e-mail %s by category", tok)
	} else {
		s.must(g.w.graphDo("POST", "mailFolders/"+s.shareFolder()+"/messages", msg, &made), "post a message")
		s.logf("mailbox share e-mail %s by folder", tok)
	}
	return made.ID
}

func (g graphAdmin) readOrFlag(s *scenario, ids []string) {
	change := map[string]any{"isRead": true}
	if s.rng.IntN(2) == 0 {
		change = map[string]any{"flag": map[string]any{"flagStatus": "flagged"}}
	}
	s.must(g.w.graphDo("PATCH", "messages/"+ids[s.rng.IntN(len(ids))], change, nil), "read or flag an e-mail")
}

func (graphAdmin) chooseCalendars(s *scenario) { s.chooseCalendars() }

func (g graphAdmin) fault(s *scenario) {
	if s.rng.IntN(2) == 0 {
		n, parts, wait := s.rng.IntN(3), s.rng.IntN(3), time.Duration(1+s.rng.IntN(3))*time.Second
		if s.rng.IntN(4) == 0 {
			wait = 3 * time.Minute // longer than the client waits: the session ends, to be retried
		}
		g.w.graph.Throttle(upn, n, parts, wait)
		s.logf("  fault: graph 429 on %d requests and %d batch parts, Retry-After %s", n, parts, wait)
	} else {
		g.w.graph.ExpireDeltaTokens(upn)
		s.logf("  fault: graph delta tokens expired")
	}
}

func (g graphAdmin) calm() { g.w.graph.Throttle(upn, 0, 0, 0) }

func (g graphAdmin) checkLimits(s *scenario) {
	if got := g.w.graph.Stats(upn).MaxInFlight; got > fakegraph.MailboxConcurrency {
		s.fatalf("%d Graph requests in flight for one mailbox, over the limit of %d", got, fakegraph.MailboxConcurrency)
	}
}
