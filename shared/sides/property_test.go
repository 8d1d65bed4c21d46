package sides_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
)

var (
	sidesPropN    = flag.Int("sides.property.n", 0, "randomized scenarios against the local servers (0 = the default for make test)")
	sidesPropSeed = flag.Uint64("sides.property.seed", 1, "first seed of the randomized scenarios against the local servers")
)

// sessions counts the sessions the scenarios ran, for the speed figure.
var sessions atomic.Int64

// defaultScenarios keeps TestPropertySessionsAgainstLocalServers well under a
// minute on two cores; -sides.property.n runs many more.
const defaultScenarios = 500

// where names a side of the sync in the model.
type where int

const (
	inCRM where = iota
	inMailbox
)

func (s where) String() string { return [...]string{"crm", "mailbox"}[s] }

// state is what the sync rules say must become of an entity.
type state int

const (
	// linked: on both sides, linked, with the same synced fields.
	linked state = iota
	// mailboxOnly: a calendar event without the share category stays private.
	mailboxOnly
	// detached: deleted in the mailbox; the CRM keeps it and it never comes back.
	detached
	// gone: deleted in the CRM, so from the mailbox too.
	gone
	// outOfScope: the CRM record left the user's scope; it stays in the CRM and
	// its mailbox copy is removed (kept, for events).
	outOfScope
)

func (s state) String() string {
	return [...]string{"linked", "mailbox-only", "detached", "gone", "out-of-scope"}[s]
}

// entity is one record the scenario's user made, with its unique token.
type entity struct {
	tok   string
	kind  item.Kind
	st    state
	crmID string
	mbxID string
	// want are the checked fields' values once synced.
	want map[string]string
	// edits since the last convergence: field → side → value.
	edits  map[string]map[where]string
	shared bool // an event carrying the share category
	// invite: a meeting a colleague organized (the user's copy): crmsync
	// never writes its organizer's fields, so the scenario edits it in
	// neither place.
	invite bool
	// synced: the last check found it linked on both sides.
	synced bool
	// series: a weekly meeting of three; exceptions are its meetings moved
	// on one side, each an item of its own on both sides.
	series     bool
	exceptions int
	// cancelled: the date of the series' meeting cancelled on one side
	// (propcancel_test.go), "" for none.
	cancelled string
}

// editable are the fields the scenario edits, per kind, and checked the fields
// compared across the sides.
var (
	editable = map[item.Kind][]string{
		item.Contact: {item.Title, item.Department},
		item.Task:    {item.Priority, item.Description},
		item.Event:   {item.Location, item.Description},
	}
	checked = map[item.Kind][]string{
		item.Contact: {item.FirstName, item.LastName, item.Email, item.Title, item.Department},
		item.Task:    {item.Subject, item.DueDate, item.Priority, item.Description},
		item.Event:   {item.Subject, item.Start, item.End, item.Location, item.Description},
	}
	sfField = map[string]string{item.Title: "Title", item.Department: "Department", item.Priority: "Priority",
		item.Description: "Description", item.Location: "Location"}
)

// scenario is one seeded run: a user acting on both sides, sessions killed
// and faulted, and the model of what both sides must hold.
type scenario struct {
	t      testing.TB
	w      *pworld
	rng    *rand.Rand
	seed   uint64
	next   int
	ents   []*entity
	emails map[string]bool // tokens of shared e-mails
	// hidden: a change this round the CRM's feed does not report (a record
	// given to another owner in Salesforce; a deletion or owner change in
	// C4C), found only crmAdmin.revealAfter later.
	hidden bool
	// touched and removals keep to one action per entity and one removal per
	// kind in a round, so that no guard trips and each record's fate is clear.
	touched  map[*entity]bool
	removals map[item.Kind]bool
	log      []string
	// calendars are the calendars the user chose (none = the default), and
	// sales the second one's id when there is one.
	calendars []string
	sales     string
	// messages are the message ids of each shared e-mail's copies, and
	// senders who sent each.
	messages map[string][]string
	senders  map[string]string
	// mbx acts in the mailbox beyond the connector (mailboxadmin_test.go).
	mbx mailboxAdmin
}

func (s *scenario) logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%s "+format, append([]any{time.Now().UTC().Format("15:04:05")}, args...)...))
}

func (s *scenario) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d (rerun: go test ./shared/sides -run %s -sides.property.seed=%d -sides.property.n=1 -v): %s\nactions:\n  %s\nwarnings:\n%s",
		s.seed, strings.SplitN(s.t.Name(), "/", 2)[0], s.seed, fmt.Sprintf(format, args...), strings.Join(s.log, "\n  "), s.w.logs.String())
}

func (s *scenario) must(err error, what string) {
	s.t.Helper()
	if err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

func (s *scenario) day() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

func (s *scenario) newTok() string {
	s.next++
	return fmt.Sprintf("k%d", s.next)
}

// initial returns the canonical fields of a new entity of kind.
func (s *scenario) initial(kind item.Kind, tok string) map[string]string {
	switch kind {
	case item.Contact:
		return map[string]string{item.FirstName: "P", item.LastName: tok, item.Email: tok + "@acme.example",
			item.Title: "Buyer", item.Department: "Sales"}
	case item.Task:
		return map[string]string{item.Subject: "Task " + tok, item.DueDate: s.day().AddDate(0, 0, s.rng.IntN(15)).Format(time.DateOnly),
			item.Priority: "Normal", item.Description: "d0"}
	default:
		start := s.day().AddDate(0, 0, s.rng.IntN(25)-5).Add(time.Duration(8+s.rng.IntN(9)) * time.Hour)
		f := map[string]string{item.Subject: "Meet " + tok, item.Start: start.Format(time.RFC3339),
			item.End: start.Add(time.Hour).Format(time.RFC3339), item.Location: "Room A", item.Description: "d0"}
		if s.rng.IntN(2) == 0 && s.w.crm.series() {
			f[item.Recurrence] = "FREQ=WEEKLY;INTERVAL=1;COUNT=3"
		}
		return f
	}
}

func (s *scenario) createCRM(kind item.Kind, f map[string]string) string {
	id, err := s.w.crm.create(kind, f)
	s.must(err, "insert in the CRM")
	return id
}

func (s *scenario) createMailbox(kind item.Kind, f map[string]string, shared bool) string {
	fields := map[string]string{}
	for k, v := range f {
		fields[k] = v
	}
	if kind == item.Task {
		fields[item.Status] = "NotStarted"
	}
	res, err := s.w.mailbox.Create(context.Background(), kind, []item.Record{{Kind: kind, Fields: fields}}, []string{""})
	s.must(err, "create in the mailbox")
	s.must(res[0].Err, "create in the mailbox")
	if shared {
		s.setCategory(res[0].ID, true)
	}
	return res[0].ID
}

func (s *scenario) setCategory(eventID string, on bool) { s.mbx.setShare(s, eventID, on) }

// has reports whether some entity passes ok, drawing nothing from the
// scenario's random numbers.
func (s *scenario) has(ok func(*entity) bool) bool {
	for _, e := range s.ents {
		if ok(e) {
			return true
		}
	}
	return false
}

func (s *scenario) pick(ok func(*entity) bool) *entity {
	var c []*entity
	for _, e := range s.ents {
		if ok(e) {
			c = append(c, e)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[s.rng.IntN(len(c))]
}

func (s *scenario) linkedCount(kind item.Kind) int {
	n := 0
	for _, e := range s.ents {
		if e.kind == kind && e.st == linked && e.synced {
			n++
		}
	}
	return n
}

// act applies a few random user actions on both sides.
func (s *scenario) act() {
	touched, removals := s.touched, s.removals
	free := func(e *entity) bool { return !touched[e] }
	for n := 1 + s.rng.IntN(5); n > 0; n-- {
		kind := item.Kinds[s.rng.IntN(len(item.Kinds))]
		isLinked := func(e *entity) bool { return e.kind == kind && e.st == linked && e.synced && free(e) && !e.invite }
		switch op := s.rng.IntN(24); {
		case op < 5: // create on one side
			tok := s.newTok()
			e := &entity{tok: tok, kind: kind, want: s.initial(kind, tok), edits: map[string]map[where]string{}}
			e.series = e.want[item.Recurrence] != ""
			if s.rng.IntN(2) == 0 {
				e.crmID = s.createCRM(kind, e.want)
				s.logf("crm create %s %s", kind, tok)
			} else {
				e.shared = kind == item.Event && s.mbx.shares() && s.rng.IntN(3) > 0
				if kind == item.Event && !e.shared {
					e.st = mailboxOnly
				}
				// Series stay in the default calendar: graphEvent writes no
				// recurrence (the series tests cover series; this covers calendars).
				if kind == item.Event && s.sales != "" && !e.series && s.rng.IntN(2) == 0 {
					e.mbxID = s.createInCalendar(s.sales, e.want, e.shared)
					s.logf("mailbox create %s %s in the Sales calendar shared=%v", kind, tok, e.shared)
				} else {
					e.mbxID = s.createMailbox(kind, e.want, e.shared)
					s.logf("mailbox create %s %s shared=%v", kind, tok, e.shared)
				}
			}
			touched[e] = true
			s.ents = append(s.ents, e)
		case kind == item.Event && (op >= 19 || op == 8) && s.cancellable() && s.has(func(e *entity) bool {
			return isLinked(e) && e.series && e.cancelled == "" && s.lastMeetingInWindow(e)
		}):
			// A meeting of a linked series cancelled on one side (more
			// often while there is such a series: few are linked at any time).
			e := s.pick(func(e *entity) bool { return isLinked(e) && e.series && e.cancelled == "" && s.lastMeetingInWindow(e) })
			touched[e] = true
			s.cancelMeeting(e, where(s.rng.IntN(2)))
		case kind == item.Event && (op < 6 || op < 9 && s.has(func(e *entity) bool { return isLinked(e) && e.series && e.exceptions == 0 })):
			// A meeting of a linked series moved on one side (more often
			// while there is such a series: few are linked at any time).
			e := s.pick(func(e *entity) bool { return isLinked(e) && e.series && e.exceptions == 0 })
			if e == nil {
				continue
			}
			touched[e] = true
			s.moveMeeting(e, where(s.rng.IntN(2)))
		case op < 6: // the same record made on both sides: matched, not duplicated
			tok := s.newTok()
			e := &entity{tok: tok, kind: kind, want: s.initial(kind, tok), edits: map[string]map[where]string{}}
			e.crmID, e.mbxID = s.createCRM(kind, e.want), s.createMailbox(kind, e.want, false)
			s.logf("both create %s %s", kind, tok)
			touched[e] = true
			s.ents = append(s.ents, e)
		case op < 12: // edit one field on one side, sometimes the same field on both
			e := s.pick(isLinked)
			if e == nil {
				continue
			}
			touched[e] = true
			f := s.w.crm.editable(kind)[s.rng.IntN(len(s.w.crm.editable(kind)))]
			sides := []where{where(s.rng.IntN(2))}
			if s.rng.IntN(5) == 0 {
				sides = []where{inCRM, inMailbox}
			}
			for _, side := range sides {
				v := s.value(f)
				s.edit(e, side, f, v)
				if e.edits[f] == nil {
					e.edits[f] = map[where]string{}
				}
				e.edits[f][side] = v
				s.logf("%s edit %s %s %s=%q", side, kind, e.tok, f, v)
			}
		case op < 14 && !removals[kind] && s.linkedCount(kind) >= 3: // delete on one side
			e := s.pick(func(e *entity) bool { return isLinked(e) && e.exceptions == 0 })
			if e == nil {
				continue
			}
			touched[e], removals[kind] = true, true
			if s.rng.IntN(2) == 0 {
				hidden, err := s.w.crm.remove(kind, e.crmID)
				s.must(err, "delete in the CRM")
				s.hidden = s.hidden || hidden
				e.st = gone
				s.logf("crm delete %s %s", kind, e.tok)
			} else {
				res, err := s.w.mailbox.Delete(context.Background(), kind, []string{e.mbxID})
				s.must(err, "delete in the mailbox")
				s.must(res[0].Err, "delete in the mailbox")
				e.st = detached
				s.logf("mailbox delete %s %s", kind, e.tok)
			}
		case op < 16 && !removals[kind] && s.linkedCount(kind) >= 3: // the CRM record leaves the user's scope
			e := s.pick(func(e *entity) bool { return isLinked(e) && !e.shared && e.exceptions == 0 })
			if e == nil {
				continue
			}
			touched[e], removals[kind] = true, true
			how := "owner"
			if kind == item.Task && s.rng.IntN(2) == 0 {
				how = "completed long ago"
			}
			hidden, err := s.w.crm.leaveScope(kind, e.crmID, how != "owner", s.day())
			s.must(err, "move out of scope")
			s.hidden = s.hidden || hidden
			e.st = outOfScope
			s.logf("crm out of scope (%s) %s %s", how, kind, e.tok)
		case op < 18 && s.mbx.shares(): // the share category on a calendar event
			e := s.pick(func(e *entity) bool {
				return e.kind == item.Event && (e.st == linked || e.st == mailboxOnly) && e.mbxID != "" && free(e)
			})
			if e == nil {
				continue
			}
			touched[e] = true
			e.shared = !e.shared
			s.setCategory(e.mbxID, e.shared)
			if e.st == mailboxOnly && e.shared {
				e.st = linked
			}
			s.logf("mailbox category %s %s shared=%v", e.kind, e.tok, e.shared)
		case op == 20: // a colleague invites the user to a meeting
			tok := s.newTok()
			e := &entity{tok: tok, kind: item.Event, st: mailboxOnly, invite: true, want: s.initial(item.Event, tok), edits: map[string]map[where]string{}}
			e.mbxID = s.mbx.invite(s, tok, e.want)
			touched[e] = true
			s.ents = append(s.ents, e)
			s.logf("organizer invites to %s", tok)
		case op == 21: // a shared e-mail is read or flagged: a lightweight delta entry
			tok := s.pickEmail()
			if tok == "" {
				continue
			}
			s.mbx.readOrFlag(s, s.messages[tok])
			s.logf("mailbox reads or flags e-mail %s", tok)
		case op == 22: // another copy of a shared e-mail (same Internet message id)
			tok := s.pickEmail()
			if tok == "" {
				continue
			}
			s.postEmail(tok, s.rng.IntN(2) == 0)
			s.logf("mailbox gets another copy of e-mail %s", tok)
		default: // an e-mail put in the share category
			tok := s.newTok()
			s.postEmail(tok, s.rng.IntN(2) == 0)
			s.emails[tok] = true
		}
	}
}

// pickEmail picks a shared e-mail's token ("" = none yet).
func (s *scenario) pickEmail() string {
	var toks []string
	for tok := range s.emails {
		toks = append(toks, tok)
	}
	if len(toks) == 0 {
		return ""
	}
	slices.Sort(toks)
	return toks[s.rng.IntN(len(toks))]
}

// postEmail puts a copy of e-mail tok in the mailbox, shared by category or
// by the share folder; every copy has the same Internet message id.
func (s *scenario) postEmail(tok string, byCategory bool) {
	{
		{
			from, ok := s.senders[tok]
			if !ok {
				from = "someone." + tok + "@prospect.example"
				if c := s.pick(func(e *entity) bool { return e.kind == item.Contact && e.st == linked }); c != nil && s.rng.IntN(2) == 0 {
					from = c.want[item.Email]
				}
				s.senders[tok] = from
			}
			s.messages[tok] = append(s.messages[tok], s.mbx.postEmail(s, tok, from, byCategory))
		}
	}
}

// graphEvent is a Graph event body with the canonical fields f.
func graphEvent(f map[string]string) map[string]any {
	dt := func(v string) map[string]any {
		t, _ := time.Parse(time.RFC3339, v)
		return map[string]any{"dateTime": t.UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"}
	}
	return map[string]any{"subject": f[item.Subject], "start": dt(f[item.Start]), "end": dt(f[item.End]),
		"location": map[string]any{"displayName": f[item.Location]}, "body": map[string]any{"contentType": "text", "content": f[item.Description]}}
}

// createInCalendar makes an event in another calendar of the mailbox, as
// Outlook would.
func (s *scenario) createInCalendar(cal string, f map[string]string, shared bool) string {
	body := graphEvent(f)
	if shared {
		body["categories"] = []string{"Salesforce"}
	}
	var made struct {
		ID string `json:"id"`
	}
	s.must(s.w.graphDo("POST", "calendars/"+cal+"/events", body, &made), "create in the Sales calendar")
	return made.ID
}

// chooseCalendars makes a "Sales" calendar and has the user choose it with
// the default one, in about half the scenarios.
func (s *scenario) chooseCalendars() {
	if s.rng.IntN(2) == 0 {
		return
	}
	var def, sales struct {
		ID string `json:"id"`
	}
	s.must(s.w.graphDo("GET", "calendar", nil, &def), "the default calendar")
	s.must(s.w.graphDo("POST", "calendars", map[string]any{"name": "Sales"}, &sales), "make the Sales calendar")
	s.calendars, s.sales = []string{def.ID, sales.ID}, sales.ID
	src := s.w.runner.Settings.(settingsFor)
	us := src[s.w.user]
	us.Calendars = s.calendars
	src[s.w.user] = us
	s.logf("the user syncs the default and Sales calendars")
}

// shareFolder finds or makes the "Salesforce Emails" folder, as the user
// would in Outlook.
func (s *scenario) shareFolder() string {
	var list struct {
		Value []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		} `json:"value"`
	}
	s.must(s.w.graphDo("GET", "mailFolders", nil, &list), "list mail folders")
	for _, f := range list.Value {
		if f.DisplayName == msgraph.DefaultShareFolder {
			return f.ID
		}
	}
	var made struct {
		ID string `json:"id"`
	}
	s.must(s.w.graphDo("POST", "mailFolders", map[string]any{"displayName": msgraph.DefaultShareFolder}, &made), "make the share folder")
	return made.ID
}

func (s *scenario) value(field string) string {
	if field == item.Priority {
		return []string{"Low", "Normal", "High"}[s.rng.IntN(3)]
	}
	s.next++
	return fmt.Sprintf("v%d", s.next)
}

func (s *scenario) edit(e *entity, side where, field, v string) {
	if side == inCRM {
		s.must(s.w.crm.edit(e.kind, e.crmID, field, v), "edit in the CRM")
		return
	}
	res, err := s.w.mailbox.Update(context.Background(), e.kind, []item.Record{{Kind: e.kind, ID: e.mbxID, Fields: map[string]string{field: v}}})
	s.must(err, "edit in the mailbox")
	s.must(res[0].Err, "edit in the mailbox")
}

// chaos arms faults for the next session: a kill after a random number of
// requests, Salesforce lock contention, server errors or expired sessions,
// Graph throttling or expired delta tokens. It reports whether any was armed.
func (s *scenario) chaos() (killAfter int, armed bool) {
	if s.rng.IntN(3) == 0 {
		killAfter = 1 + s.rng.IntN(40)
		s.logf("  fault: kill after %d requests", killAfter)
		armed = true
	}
	if s.rng.IntN(4) == 0 {
		armed = true
		s.logf("  fault: %s", s.w.crm.fault(s.rng))
	}
	if s.rng.IntN(4) == 0 {
		armed = true
		s.mbx.fault(s)
	}
	return killAfter, armed
}

// converge runs sessions, the first ones under faults, until one without
// faults ends ok. A killed session is redelivered after its lease expired.
func (s *scenario) converge() {
	for attempt := 0; ; attempt++ {
		killAfter, armed := 0, false
		if attempt < 3 {
			killAfter, armed = s.chaos()
		}
		if !armed {
			// Throttling is transient: 429s an earlier attempt armed but no
			// request has drawn yet (a batch part the sessions since did not
			// send) are over by the clean session, or they would fall on the
			// idle check after it.
			s.mbx.calm()
		}
		rep, err, killed := s.w.run(killAfter)
		s.logf("  session: outcome %s counts %v issues %d err %v killed %v", rep.Outcome, rep.Counts, rep.Issues, err, killed)
		if err != nil && !errors.Is(err, session.ErrRetryLater) {
			s.fatalf("session failed: %v", err)
		}
		if killed {
			// The dead session still holds the lease: a redelivery within
			// its TTL finds it busy, one after the TTL runs takes over.
			time.Sleep(session.DefaultLeaseTTL / 2)
			if busy, err, _ := s.w.run(0); busy.Outcome != "busy" || err != nil {
				s.fatalf("a session right after a killed one: outcome %s err %v, want busy", busy.Outcome, err)
			}
			time.Sleep(10 * time.Minute)
			if s.touched != nil && s.rng.IntN(2) == 0 {
				// The user works on while the request waits for redelivery.
				s.logf("  the user acts before the redelivery")
				s.act()
				time.Sleep(2 * time.Minute)
			}
		} else {
			time.Sleep(3 * time.Minute)
		}
		if err == nil && rep.Outcome == "ok" && !armed {
			return
		}
		if rep.Outcome == "error" || rep.Outcome == "reconnect" || rep.Outcome == "quota" {
			s.fatalf("session outcome %s: %s", rep.Outcome, rep.Detail)
		}
		if attempt > 12 {
			s.fatalf("no clean session after %d attempts; last %+v", attempt, rep)
		}
	}
}

// master is the record of a token that is no exception (the series, or the
// only record).
func master(recs []item.Record) item.Record {
	for _, r := range recs {
		if r.Fields[item.SeriesID] == "" {
			return r
		}
	}
	return recs[0]
}

// moveMeeting moves the second meeting of a linked series an hour later on
// one side: an exception there, which the other side must show too.
func (s *scenario) moveMeeting(e *entity, side where) {
	start, err := time.Parse(time.RFC3339, e.want[item.Start])
	s.must(err, "series start")
	orig := start.AddDate(0, 0, 7)
	if side == inCRM {
		moved, err := s.w.crm.moveOccurrence(e.crmID, orig)
		s.must(err, "move a meeting in the CRM")
		if moved {
			e.exceptions++
			s.logf("crm move meeting of %s", e.tok)
			return
		}
		s.fatalf("series %s has no meeting at %v", e.tok, orig)
	}
	res, err := s.w.mailbox.Create(context.Background(), item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
		item.Subject: e.want[item.Subject], item.Start: orig.Add(time.Hour).Format(time.RFC3339), item.End: orig.Add(2 * time.Hour).Format(time.RFC3339),
		item.Location: e.want[item.Location], item.Description: e.want[item.Description],
		item.SeriesID: e.mbxID, item.OriginalStart: orig.Format(time.RFC3339)}}}, []string{""})
	s.must(err, "move a meeting in the mailbox")
	s.must(res[0].Err, "move a meeting in the mailbox")
	// An exception of a linked series follows its series to the CRM with or
	// without the share category of its own (Outlook usually copies the
	// series' categories; a user may clear them on one meeting).
	categorized := s.rng.IntN(2) == 0
	s.setCategory(res[0].ID, categorized)
	e.exceptions++
	s.logf("mailbox move meeting of %s (share category %v)", e.tok, categorized)
}

// token finds the scenario token of a record.
func token(kind item.Kind, r item.Record) string {
	if kind == item.Contact {
		at := strings.IndexByte(r.Fields[item.Email], '@')
		if at < 0 {
			return "?" + r.Fields[item.LastName]
		}
		return r.Fields[item.Email][:at]
	}
	_, tok, _ := strings.Cut(r.Fields[item.Subject], " ")
	return tok
}

func byToken(kind item.Kind, recs []item.Record) map[string][]item.Record {
	out := map[string][]item.Record{}
	for _, r := range recs {
		t := token(kind, r)
		out[t] = append(out[t], r)
	}
	return out
}

// check verifies that both sides converged to the model: every entity in the
// state its history says, linked records equal on every checked field, no
// change lost (a field edited on one side only carries that edit; on both, one
// of the two), no duplicate, no record the model does not know.
func (s *scenario) check() {
	ctx := context.Background()
	now := time.Now()
	st := session.NewState(s.w.tables, s.w.user)
	for _, kind := range item.Kinds {
		crmCh, err := s.w.crm.user().Changes(ctx, scopeAt(kind, now), "")
		s.must(err, "read the CRM")
		mbxScope := scopeAt(kind, now)
		if kind == item.Event {
			mbxScope.Calendars = s.calendars
		}
		mbxCh, err := s.w.mailbox.Changes(ctx, mbxScope, "")
		s.must(err, "read the mailbox")
		all, err := s.w.crm.counts(kind)
		s.must(err, "count the CRM's records")
		crm, mbx := byToken(kind, crmCh.Records), byToken(kind, mbxCh.Records)
		links, err := st.Links(ctx, kind)
		s.must(err, "read links")
		byCRM := map[string]reconcile.Link{}
		for _, l := range links {
			byCRM[l.CRMID] = l
		}
		known := map[string]bool{}
		for _, e := range s.ents {
			if e.kind != kind {
				continue
			}
			known[e.tok] = true
			wantMbx, wantCRM, wantAll := 0, 0, 0
			switch e.st {
			case linked:
				wantMbx, wantCRM, wantAll = 1, 1, 1
			case mailboxOnly:
				wantMbx = 1
			case detached:
				wantCRM, wantAll = 1, 1
			case outOfScope:
				wantAll = 1
				if kind == item.Event {
					wantMbx = 1
				}
			}
			if e.st == linked {
				wantMbx, wantCRM = 1+e.exceptions, 1+e.exceptions
			}
			if len(mbx[e.tok]) != wantMbx || len(crm[e.tok]) != wantCRM || all[e.tok] != wantAll {
				s.fatalf("%s %s (%s): mailbox holds %d, CRM scope %d, CRM org %d; want %d, %d, %d",
					kind, e.tok, e.st, len(mbx[e.tok]), len(crm[e.tok]), all[e.tok], wantMbx, wantCRM, wantAll)
			}
			if l, ok := byCRM[e.crmID]; ok && e.st == detached && l.MailboxID != "" {
				// Unlink, the default: a delete the sessions missed would keep it.
				s.fatalf("%s %s: deleted in the mailbox but still linked to %s (deletion lost)", kind, e.tok, l.MailboxID)
			}
			if e.st != linked {
				continue
			}
			c, m := master(crm[e.tok]), master(mbx[e.tok])
			if e.series && (c.Fields[item.Recurrence] == "" || m.Fields[item.Recurrence] == "") {
				s.fatalf("%s %s: a series reads as recurrence %q in the CRM and %q in the mailbox", kind, e.tok, c.Fields[item.Recurrence], m.Fields[item.Recurrence])
			}
			s.checkCancelled(e, c, m)
			if e.crmID != "" && e.crmID != c.ID {
				s.fatalf("%s %s: CRM id changed from %s to %s", kind, e.tok, e.crmID, c.ID)
			}
			if e.mbxID != "" && e.mbxID != m.ID {
				s.fatalf("%s %s: mailbox id changed from %s to %s", kind, e.tok, e.mbxID, m.ID)
			}
			e.crmID, e.mbxID, e.synced = c.ID, m.ID, true
			if l, ok := byCRM[c.ID]; !ok || l.MailboxID != m.ID {
				s.fatalf("%s %s: link of CRM %s is %+v (found %v), want mailbox %s", kind, e.tok, c.ID, l, ok, m.ID)
			}
			for _, f := range s.w.crm.checked(kind) {
				cv, mv := c.Fields[f], m.Fields[f]
				if cv != mv {
					s.fatalf("%s %s: %s is %q in the CRM and %q in the mailbox (not converged)", kind, e.tok, f, cv, mv)
				}
				want := e.want[f]
				if ed := e.edits[f]; len(ed) == 1 {
					for _, v := range ed {
						want = v
					}
				} else if len(ed) == 2 && (cv == ed[inCRM] || cv == ed[inMailbox]) {
					want = cv // the same field changed on both sides: the conflict policy picks
				}
				if cv != want {
					s.fatalf("%s %s: %s is %q on both sides, want %q (lost change; edits %v)", kind, e.tok, f, cv, want, e.edits[f])
				}
				e.want[f] = cv
			}
			clear(e.edits)
		}
		for tok := range crm {
			if !known[tok] {
				s.fatalf("%s %s in the CRM scope is no record of the scenario (%d copies)", kind, tok, len(crm[tok]))
			}
		}
		for tok := range mbx {
			if !known[tok] {
				s.fatalf("%s %s in the mailbox is no record of the scenario (%d copies)", kind, tok, len(mbx[tok]))
			}
		}
		for tok, n := range all {
			if !known[tok] {
				s.fatalf("%s %s in the CRM org is no record of the scenario (%d copies)", kind, tok, n)
			}
		}
	}
	s.checkEmails()
	// Every item synced, so no issue stays open and no create stays pending.
	issues, err := st.Issues(ctx)
	s.must(err, "read issues")
	for _, is := range issues {
		s.fatalf("issue still open after convergence: %s %s %s %s (%s)", is.Kind, is.Side, is.RecordID, is.Code, is.Reason)
	}
	intents, err := st.PendingIntents(ctx)
	s.must(err, "read intents")
	for _, in := range intents {
		s.fatalf("intent still pending after convergence: %s to %s", in.Kind, in.Target)
	}
	s.mbx.checkLimits(s)
}

// checkEmails: every shared e-mail is exactly one CRM e-mail task, and no
// address became two leads.
func (s *scenario) checkEmails() {
	got, err := s.w.crm.emails()
	s.must(err, "count the CRM's e-mails")
	for tok := range s.emails {
		if got[tok] != 1 {
			s.fatalf("e-mail %s became %d CRM tasks, want 1", tok, got[tok])
		}
	}
	for tok, n := range got {
		if !s.emails[tok] {
			s.fatalf("CRM e-mail task %s (%d) was never shared", tok, n)
		}
	}
	leads, err := s.w.crm.leads()
	s.must(err, "list the CRM's leads")
	seen := map[string]bool{}
	for _, e := range leads {
		if seen[e] {
			s.fatalf("two leads for one address (%s)", strings.SplitN(e, "@", 2)[0])
		} else {
			seen[e] = true
		}
	}
}

// idle checks that sessions after convergence do nothing: no action, and
// no table write beyond the lease. A session may still refresh a kind's
// cursors when its hourly full read falls due (salesforce.FullRereadEvery), so
// of a few sessions a minute apart all must do nothing and one must write
// nothing but its lease.
func (s *scenario) idle() {
	writes := []int{}
	for i := 0; i <= len(item.Kinds); i++ {
		rep, err, _ := s.w.run(0)
		if err != nil || rep.Outcome != "ok" {
			s.fatalf("idle session %d: outcome %s err %v", i, rep.Outcome, err)
		}
		if len(rep.Counts) != 0 {
			s.fatalf("idle session %d after convergence did %v", i, rep.Counts)
		}
		if rep.TableWrites == 2 {
			return
		}
		writes = append(writes, rep.TableWrites)
		time.Sleep(time.Minute)
	}
	s.fatalf("idle sessions wrote %v table transactions, want 2 (the lease)", writes)
}

// runScenario runs one seeded scenario inside a synctest bubble.
func runScenario(t *testing.T, seed uint64) { runScenarioIn(t, seed, newGraphWorld) }

// runScenarioIn runs one seeded scenario in the world open makes.
func runScenarioIn(t *testing.T, seed uint64, open func(testing.TB) (*pworld, mailboxAdmin)) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour) // the bubble's clock starts at midnight
		w, mbx := open(t)
		defer w.close()
		s := &scenario{t: t, w: w, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x51de5)), emails: map[string]bool{}, messages: map[string][]string{}, senders: map[string]string{}, mbx: mbx}
		mbx.chooseCalendars(s)
		rounds := 3 + s.rng.IntN(4)
		for r := 0; r < rounds; r++ {
			s.logf("round %d", r)
			s.touched, s.removals = map[*entity]bool{}, map[item.Kind]bool{}
			s.act()
			// Users act between sessions, not in the instant one starts: the
			// Salesforce feeds end at a whole minute, so an edit made in the
			// session's own minute is the next session's to see.
			time.Sleep(2 * time.Minute)
			s.converge()
			// A record given to another owner (or, in C4C, deleted) leaves
			// the scope unreported until the CRM's next full read; the user
			// may move another one while that read's session waits for
			// redelivery, so wait again then.
			for s.hidden {
				s.hidden = false
				time.Sleep(s.w.crm.revealAfter())
				s.logf("an hour later")
				s.converge()
			}
			s.check()
		}
		s.idle()
	})
}

// TestPropertySessionsAgainstLocalServers runs seeded random scenarios through
// the real connectors against the local Salesforce and the local Graph: random
// creates, edits, deletes, category shares and scope changes on both sides,
// shared e-mails, sessions killed after a random number of requests and
// redelivered once their lease expired, Salesforce lock contention, server
// errors and expired sessions, Graph throttling and expired delta tokens —
// and Microsoft 365 as it really answers: read and flagged e-mails coming
// back as lightweight delta entries, more copies of a shared e-mail (same
// Internet message id), meetings a colleague invites the user to (shared by
// category, never written back), and a second chosen calendar.
// After every round both sides must match the model: converged, nothing
// duplicated, no change lost; at the end, further sessions do nothing and
// write nothing but their lease.
func TestPropertySessionsAgainstLocalServers(t *testing.T) {
	n := *sidesPropN
	if n == 0 {
		n = defaultScenarios
		if testing.Short() {
			n = 20
		}
	}
	first := *sidesPropSeed
	start := time.Now()
	for i := 0; i < n; i++ {
		seed := first + uint64(i)
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			runScenario(t, seed)
		})
	}
	t.Cleanup(func() {
		d := time.Since(start)
		t.Logf("%d scenarios, %d sessions in %s: %.1f scenarios/s, %.0f sessions/s", n, sessions.Load(), d.Round(time.Millisecond),
			float64(n)/d.Seconds(), float64(sessions.Load())/d.Seconds())
	})
}

// TestPropertyEmptiedSideNeverDeletesTheOther syncs a random number of
// contacts, tasks and events, then empties one side at random (deleting
// everything, sometimes with the mailbox's delta tokens expired as well, so
// the mailbox answers with a full, empty listing) and runs sessions: the other
// side must keep every record, even where mailbox deletes are set to delete in
// the CRM.
func TestPropertyEmptiedSideNeverDeletesTheOther(t *testing.T) {
	for seed := *sidesPropSeed; seed < *sidesPropSeed+24; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { emptySide(t, seed) })
		})
	}
}

func emptySide(t *testing.T, seed uint64) {
	time.Sleep(8 * time.Hour)
	w := newPWorld(t)
	defer w.close()
	s := &scenario{t: t, w: w, seed: seed, rng: rand.New(rand.NewPCG(seed, 0xe3e3)), emails: map[string]bool{}, mbx: graphAdmin{w}}
	deleteInCRM := s.rng.IntN(2) == 0
	if deleteInCRM {
		pol := reconcile.Policy{MailboxDelete: reconcile.DeleteInCRM}
		set := w.runner.Settings.(settingsFor)
		us := set[w.user]
		us.Policies = map[item.Kind]reconcile.Policy{item.Contact: pol, item.Task: pol, item.Event: pol}
		set[w.user] = us
	}
	want := map[item.Kind]int{}
	for _, kind := range item.Kinds {
		n := 1 + s.rng.IntN(25)
		for i := 0; i < n; i++ {
			tok := s.newTok()
			f := s.initial(kind, tok)
			if kind != item.Event && s.rng.IntN(3) == 0 {
				s.createMailbox(kind, f, false)
			} else {
				s.createCRM(kind, f)
			}
		}
		want[kind] = n
	}
	s.logf("seeded %v, mailbox deletes delete in the CRM: %v", want, deleteInCRM)
	time.Sleep(2 * time.Minute)
	s.converge()
	s.converge()
	emptied := where(s.rng.IntN(2))
	ctx := context.Background()
	for _, kind := range item.Kinds {
		if emptied == inCRM {
			ch, err := w.crm.user().Changes(ctx, scopeAt(kind, time.Now()), "")
			s.must(err, "read the CRM")
			for _, r := range ch.Records {
				_, err := w.crm.remove(kind, r.ID)
				s.must(err, "delete in the CRM")
			}
			continue
		}
		ch, err := w.mailbox.Changes(ctx, scopeAt(kind, time.Now()), "")
		s.must(err, "read the mailbox")
		var ids []string
		for _, r := range ch.Records {
			ids = append(ids, r.ID)
		}
		_, err = w.mailbox.Delete(ctx, kind, ids)
		s.must(err, "delete in the mailbox")
	}
	if emptied == inMailbox && s.rng.IntN(2) == 0 {
		w.graph.ExpireDeltaTokens(upn)
		s.logf("mailbox delta tokens expired")
	}
	s.logf("emptied the %s", emptied)
	for i := 0; i < 3; i++ {
		time.Sleep(5 * time.Minute)
		rep, err, _ := w.run(0)
		s.logf("  session: outcome %s counts %v issues %d err %v", rep.Outcome, rep.Counts, rep.Issues, err)
		if i == 0 && rep.Issues == 0 {
			s.fatalf("emptying the %s raised no issue", emptied)
		}
	}
	for _, kind := range item.Kinds {
		var got int
		if emptied == inCRM {
			ch, err := w.mailbox.Changes(ctx, scopeAt(kind, time.Now()), "")
			s.must(err, "read the mailbox")
			got = len(ch.Records)
		} else {
			ch, err := w.crm.user().Changes(ctx, scopeAt(kind, time.Now()), "")
			s.must(err, "read the CRM")
			got = len(ch.Records)
		}
		if got != want[kind] {
			s.fatalf("after the %s was emptied the other side holds %d of %d %ss", emptied, got, want[kind], kind)
		}
	}
}
