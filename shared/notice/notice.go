// Package notice e-mails people when sync needs them: a user whose
// connection needs reconnecting, whose items keep failing or whose removals a
// guard holds back, and a daily digest to an organisation's admins of the
// users needing attention.
//
// At most one message per user, kind and UTC day: a row per user and kind
// is claimed (ETag-guarded) before anything is sent, so two instances never
// both send, and a failed or bounced send is not retried the same day (the
// dashboard shows the state meanwhile; the row says how the send went).
// Users may turn each kind off. Rows hold ids, kinds, days and outcomes;
// never an address (read from the profile when sending) and never a name
// (the names of failed items go into the message only, which the privacy
// rule allows).
package notice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Table holds the notices sent and each user's choices: PartitionKey user,
// RowKey a Kind (the last day it was sent), "attention" (the last day the
// user needed attention, for the digest) or "prefs".
const Table = "notices"

// Kind is a kind of message.
type Kind string

// The kinds of message.
const (
	Reconnect Kind = "reconnect"
	Failing   Kind = "failing"
	Guard     Kind = "guard"
	Digest    Kind = "digest"
)

// Kinds are every kind, in the order the preferences page lists them.
var Kinds = []Kind{Reconnect, Failing, Guard, Digest}

// FailingAfter is how many failed attempts make an item "failing
// repeatedly".
const FailingAfter = 3

// namesShown bounds the failed items a message names.
const namesShown = 10

// Mail is one message to send.
type Mail struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends a message on behalf of user (the one it concerns: a mailer
// sending from the user's own mailbox needs to know whose).
type Mailer interface {
	Send(ctx context.Context, user string, m Mail) error
}

// Profiles is what the notifier reads of accounts (account.Accounts).
type Profiles interface {
	Profile(ctx context.Context, user string) (account.Profile, error)
	Members(ctx context.Context, org string) ([]account.Profile, error)
}

// Connections lists a user's connections (connection.Store).
type Connections interface {
	List(ctx context.Context, user string) ([]connection.Connection, error)
}

// Deps are the notifier's collaborators; Log and Now may be nil.
type Deps struct {
	Tables      tablestore.Store
	Mailer      Mailer
	Profiles    Profiles
	Connections Connections
	// DashboardURL is the dashboard's address, for the link in every message.
	DashboardURL string
	Log          *slog.Logger
	Now          func() time.Time
}

// Notifier sends the messages. It implements session.Observer (only Ended
// does anything).
type Notifier struct{ d Deps }

// New returns a notifier, or an error naming what is missing.
func New(d Deps) (*Notifier, error) {
	var missing []string
	if d.Tables == nil {
		missing = append(missing, "Tables")
	}
	if d.Mailer == nil {
		missing = append(missing, "Mailer")
	}
	if d.Profiles == nil {
		missing = append(missing, "Profiles")
	}
	if d.Connections == nil {
		missing = append(missing, "Connections")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("notice: New needs %s", strings.Join(missing, ", "))
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Notifier{d: d}, nil
}

// Progress does nothing: notices wait for a session's end.
func (n *Notifier) Progress(context.Context, session.Progress) {}

// Conflict does nothing: a settled conflict needs nobody.
func (n *Notifier) Conflict(context.Context, session.ConflictNote) {}

// Ended sends the user what the session's end calls for: a reconnect notice
// when it stopped for a connection, a failing-items notice when items have
// failed FailingAfter times or more, a guard notice when removals are held
// back. Each at most once a day, unless the user turned it off.
func (n *Notifier) Ended(ctx context.Context, e session.Ended) {
	rep := e.Report
	if rep.Outcome != "reconnect" && rep.Issues == 0 {
		return
	}
	var msgs []note
	if rep.Outcome == "reconnect" {
		if m, ok := n.reconnectNote(ctx, e.User); ok {
			msgs = append(msgs, m)
		}
	}
	if rep.Issues > 0 {
		issues, err := session.NewState(n.d.Tables, e.User).Issues(ctx)
		if err != nil {
			n.d.Log.Warn("notice: issues unreadable", "user", e.User, "err", err)
		}
		msgs = append(msgs, issueNotes(issues)...)
	}
	if len(msgs) == 0 {
		return
	}
	n.markAttention(ctx, e.User, msgs)
	for _, m := range msgs {
		n.send(ctx, e.User, m)
	}
}

// note is a message before it has an address.
type note struct {
	kind          Kind
	subject, text string
}

func (n *Notifier) reconnectNote(ctx context.Context, user string) (note, bool) {
	conns, err := n.d.Connections.List(ctx, user)
	if err != nil {
		n.d.Log.Warn("notice: connections unreadable", "user", user, "err", err)
		return note{}, false
	}
	var which []string
	for _, c := range conns {
		if c.Status == connection.NeedsReconnect {
			which = append(which, providerName(c.Provider))
		}
	}
	if len(which) == 0 {
		return note{}, false
	}
	acct := strings.Join(which, " and ")
	return note{kind: Reconnect, subject: "crmsync: reconnect your " + acct + " account",
		text: "crmsync can no longer reach your " + acct + " account, so your sync has stopped.\n\n" +
			"Open the dashboard and choose Reconnect; sync picks up where it stopped."}, true
}

func providerName(p connection.Provider) string {
	switch p {
	case connection.Salesforce:
		return "Salesforce"
	case connection.Microsoft:
		return "Microsoft 365"
	case "google": // google.Provider (notice does not import connectors)
		return "Google Workspace"
	}
	return string(p)
}

// issueNotes turns open issues into the failing-items and guard notes.
func issueNotes(issues []session.Issue) []note {
	var failing []string
	var guarded []string
	for _, is := range issues {
		switch {
		case is.Code == string(reconcile.GuardTripped) && is.RecordID == "":
			if is.Confirmed.IsZero() {
				guarded = append(guarded, string(is.Kind)+"s")
			}
		case is.RecordID != "" && is.Attempts >= FailingAfter:
			name := is.Name
			if name == "" {
				name = "a " + string(is.Kind) + " without a name"
			}
			failing = append(failing, name)
		}
	}
	var out []note
	if len(failing) > 0 {
		slices.Sort(failing)
		shown := failing[:min(len(failing), namesShown)]
		text := fmt.Sprintf("%d item%s failed to sync %d times or more:\n\n- %s\n", len(failing), plural(len(failing)), FailingAfter,
			strings.Join(shown, "\n- "))
		if more := len(failing) - len(shown); more > 0 {
			text += fmt.Sprintf("- and %d more\n", more)
		}
		out = append(out, note{kind: Failing, subject: fmt.Sprintf("crmsync: %d item%s keep failing to sync", len(failing), plural(len(failing))),
			text: text + "\nThe dashboard says why for each one."})
	}
	if len(guarded) > 0 {
		slices.Sort(guarded)
		out = append(out, note{kind: Guard, subject: "crmsync held back removals",
			text: "One side suddenly looked empty or lost most of its synced " + strings.Join(guarded, " and ") +
				", so crmsync removed nothing on the other side.\n\nIf the removals are what you meant, confirm them on the dashboard; otherwise nothing needs doing."})
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ErrNoAddress is returned when the user has no address to write to.
var ErrNoAddress = errors.New("notice: the user has no e-mail address")

// send claims the day's notice of m.kind for user and sends it. Claimed
// first, so a send that fails (or an address that bounces later) is not
// tried again until the next day.
// It reports whether the message went out.
func (n *Notifier) send(ctx context.Context, user string, m note) bool {
	if off, err := n.optedOut(ctx, user, m.kind); err != nil || off {
		if err != nil {
			n.d.Log.Warn("notice: preferences unreadable", "user", user, "err", err)
		}
		return false
	}
	claimed, err := n.claim(ctx, user, m.kind)
	if err != nil || !claimed {
		if err != nil {
			n.d.Log.Warn("notice: not claimed", "user", user, "kind", m.kind, "err", err)
		}
		return false
	}
	err = n.deliver(ctx, user, m)
	result := "sent"
	if err != nil {
		result = "failed"
		n.d.Log.Warn("notice: not sent", "user", user, "kind", m.kind, "err", err)
	}
	if _, werr := n.d.Tables.Batch(ctx, Table, []tablestore.Op{{Kind: tablestore.OpMerge, Entity: tablestore.Entity{
		PartitionKey: user, RowKey: string(m.kind), Properties: map[string]any{"Result": result}}}}); werr != nil {
		n.d.Log.Warn("notice: result not saved", "user", user, "kind", m.kind, "err", werr)
	}
	return err == nil
}

func (n *Notifier) deliver(ctx context.Context, user string, m note) error {
	p, err := n.d.Profiles.Profile(ctx, user)
	if err != nil {
		return err
	}
	if p.Email == "" {
		return ErrNoAddress
	}
	text := m.text + "\n\n" + n.footer()
	return n.d.Mailer.Send(ctx, user, Mail{To: p.Email, Subject: m.subject, Text: text})
}

func (n *Notifier) footer() string {
	s := "You get this at most once a day. Turn these messages off on the dashboard's Notifications page."
	if n.d.DashboardURL != "" {
		s = "Dashboard: " + n.d.DashboardURL + "\n\n" + s
	}
	return "-- \n" + s
}

// day is the UTC day of now, as rows keep it.
func (n *Notifier) day() string { return n.d.Now().UTC().Format(time.DateOnly) }

// claim records that user gets kind's message today; false when they
// already did (or another instance claimed it first).
func (n *Notifier) claim(ctx context.Context, user string, kind Kind) (bool, error) {
	today := n.day()
	e, err := n.d.Tables.Get(ctx, Table, user, string(kind))
	row := tablestore.Entity{PartitionKey: user, RowKey: string(kind), Properties: map[string]any{"Day": today, "Result": "sending"}}
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		_, err = n.d.Tables.Insert(ctx, Table, row)
		if errors.Is(err, tablestore.ErrExists) {
			return false, nil
		}
		return err == nil, err
	case err != nil:
		return false, err
	}
	if d, _ := e.Properties["Day"].(string); d == today {
		return false, nil
	}
	_, err = n.d.Tables.Update(ctx, Table, row, e.ETag)
	if errors.Is(err, tablestore.ErrPrecondition) {
		return false, nil
	}
	return err == nil, err
}

// markAttention notes the day and kinds for the admins' digest.
func (n *Notifier) markAttention(ctx context.Context, user string, msgs []note) {
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, string(m.kind))
	}
	_, err := n.d.Tables.Upsert(ctx, Table, tablestore.Entity{PartitionKey: user, RowKey: attentionKey,
		Properties: map[string]any{"Day": n.day(), "Kinds": strings.Join(kinds, ",")}})
	if err != nil {
		n.d.Log.Warn("notice: attention not noted", "user", user, "err", err)
	}
}

const (
	attentionKey = "attention"
	prefsKey     = "prefs"
)

// Prefs are the kinds a user turned off.
type Prefs struct {
	Off []Kind
}

// Wants reports whether the user gets kind.
func (p Prefs) Wants(kind Kind) bool { return !slices.Contains(p.Off, kind) }

// ReadPrefs returns user's choices (everything on by default).
func (n *Notifier) ReadPrefs(ctx context.Context, user string) (Prefs, error) {
	e, err := n.d.Tables.Get(ctx, Table, user, prefsKey)
	if errors.Is(err, tablestore.ErrNotFound) {
		return Prefs{}, nil
	}
	if err != nil {
		return Prefs{}, err
	}
	var p Prefs
	raw, _ := e.Properties["Off"].(string)
	for _, k := range strings.Split(raw, ",") {
		if slices.Contains(Kinds, Kind(k)) {
			p.Off = append(p.Off, Kind(k))
		}
	}
	return p, nil
}

// SavePrefs stores user's choices; an unknown kind is refused by name.
func (n *Notifier) SavePrefs(ctx context.Context, user string, p Prefs) error {
	var off []string
	for _, k := range p.Off {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("notice: no kind of message is called %q", k)
		}
		off = append(off, string(k))
	}
	slices.Sort(off)
	_, err := n.d.Tables.Upsert(ctx, Table, tablestore.Entity{PartitionKey: user, RowKey: prefsKey,
		Properties: map[string]any{"Off": strings.Join(slices.Compact(off), ",")}})
	return err
}

func (n *Notifier) optedOut(ctx context.Context, user string, kind Kind) (bool, error) {
	p, err := n.ReadPrefs(ctx, user)
	return !p.Wants(kind), err
}
