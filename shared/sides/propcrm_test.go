package sides_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/side"
)

// crmAdmin is what the property scenarios need of the CRM beyond the
// connector under test: acting in it as its users would, counting what the
// whole tenant holds, and arming its faults. Everything else the scenarios
// do is CRM-agnostic.
type crmAdmin interface {
	// create makes a record of the scenario's user with the canonical fields f.
	create(kind item.Kind, f map[string]string) (string, error)
	// edit sets one canonical field (editable) on a record.
	edit(kind item.Kind, id, field, v string) error
	// remove deletes a record; hidden reports that the CRM's change feed
	// does not say so, so that only revealAfter later the sync knows.
	remove(kind item.Kind, id string) (hidden bool, err error)
	// leaveScope takes a record out of the user's scope: given to another
	// owner, or (tasks, completed) completed long ago. hidden as in remove.
	leaveScope(kind item.Kind, id string, completed bool, day time.Time) (hidden bool, err error)
	// revealAfter is how long after a hidden change a session finds it.
	revealAfter() time.Duration
	// counts counts the tenant's live records of kind by token, whoever owns
	// them (a series counts once).
	counts(kind item.Kind) (map[string]int, error)
	// emails counts the CRM e-mail activities by token; leads lists the
	// addresses of every lead.
	emails() (map[string]int, error)
	leads() ([]string, error)
	// fault arms a random CRM fault for the next session and says which.
	fault(rng *rand.Rand) string
	// user reads the CRM as the scenario's user sees it.
	user() side.CRM
	// editable and checked are the canonical fields the scenario edits and
	// compares, per kind; series whether the CRM syncs recurring meetings.
	editable(kind item.Kind) []string
	checked(kind item.Kind) []string
	series() bool
	// moveOccurrence moves the meeting of series id at orig an hour later.
	moveOccurrence(id string, orig time.Time) (bool, error)
}

// sfAdmin is crmAdmin for the local Salesforce.
type sfAdmin struct{ w *pworld }

func (a sfAdmin) create(kind item.Kind, f map[string]string) (string, error) {
	var obj string
	var in map[string]any
	switch kind {
	case item.Contact:
		obj, in = "Contact", map[string]any{"FirstName": f[item.FirstName], "LastName": f[item.LastName], "Email": f[item.Email],
			"Title": f[item.Title], "Department": f[item.Department]}
	case item.Task:
		obj, in = "Task", map[string]any{"Subject": f[item.Subject], "ActivityDate": f[item.DueDate], "Priority": f[item.Priority],
			"Status": "Not Started", "Description": f[item.Description]}
	default:
		obj, in = "Event", map[string]any{"Subject": f[item.Subject], "StartDateTime": f[item.Start], "EndDateTime": f[item.End],
			"Location": f[item.Location], "Description": f[item.Description]}
		if f[item.Recurrence] != "" {
			in["IsRecurrence2"], in["Recurrence2PatternText"] = true, "RRULE:"+f[item.Recurrence]
		}
	}
	return a.w.sf.Insert(a.w.sfID, obj, in)
}

func (a sfAdmin) edit(kind item.Kind, id, field, v string) error {
	return a.w.sf.Update(a.w.sfID, id, map[string]any{sfField[field]: v})
}

func (a sfAdmin) remove(kind item.Kind, id string) (bool, error) {
	return false, a.w.sf.Delete(a.w.sfID, id)
}

func (a sfAdmin) leaveScope(kind item.Kind, id string, completed bool, day time.Time) (bool, error) {
	if completed {
		return false, a.w.sf.Update(a.w.sfID, id, map[string]any{"Status": "Completed", "ActivityDate": day.AddDate(0, 0, -30).Format(time.DateOnly)})
	}
	// The Salesforce feeds hide records the user cannot see, so only the
	// next full read, within salesforce.FullRereadEvery, takes its copy away.
	return true, a.w.sf.Update(a.w.sfID, id, map[string]any{"OwnerId": a.w.otherID})
}

func (a sfAdmin) revealAfter() time.Duration { return salesforce.FullRereadEvery }

func (a sfAdmin) counts(kind item.Kind) (map[string]int, error) {
	soql := map[item.Kind]string{
		item.Contact: "SELECT Id, Email FROM Contact",
		item.Task:    "SELECT Id, Subject FROM Task WHERE TaskSubtype != 'Email'",
		item.Event:   "SELECT Id, Subject, IsChild, RecurrenceActivityId, IsRecurrence, ActivityRecurrence2Id, GroupEventType FROM Event",
	}[kind]
	recs, err := a.w.admin.Collect(context.Background(), soql)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range recs {
		// A series is one meeting for the user: its record counts, its
		// occurrences and invitees' child copies do not.
		occurrence := r.String("RecurrenceActivityId") != "" && r.String("IsRecurrence") != "true" ||
			r.String("ActivityRecurrence2Id") != "" && r.String("GroupEventType") != "3"
		if kind == item.Event && (r.String("IsChild") == "true" || occurrence) {
			continue
		}
		var tok string
		if kind == item.Contact {
			tok, _, _ = strings.Cut(strings.ToLower(r.String("Email")), "@")
		} else {
			_, tok, _ = strings.Cut(r.String("Subject"), " ")
		}
		out[tok]++
	}
	return out, nil
}

func (a sfAdmin) emails() (map[string]int, error) {
	recs, err := a.w.admin.Collect(context.Background(), "SELECT Id, Subject FROM Task WHERE TaskSubtype = 'Email'")
	if err != nil {
		return nil, err
	}
	got := map[string]int{}
	for _, r := range recs {
		_, tok, _ := strings.Cut(r.String("Subject"), " ")
		got[tok]++
	}
	return got, nil
}

func (a sfAdmin) leads() ([]string, error) {
	recs, err := a.w.admin.Collect(context.Background(), "SELECT Id, Email FROM Lead")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		out = append(out, strings.ToLower(r.String("Email")))
	}
	return out, nil
}

func (a sfAdmin) fault(rng *rand.Rand) string {
	switch rng.IntN(5) {
	case 0:
		n := 1 + rng.IntN(3)
		a.w.sf.LockRows(n)
		return "salesforce UNABLE_TO_LOCK_ROW"
	case 1:
		res := []string{"collections", "batch", "updated", "deleted", "sobject"}[rng.IntN(5)]
		a.w.sf.Inject(fakesalesforce.Fault{Resource: res, Status: 503, ErrorCode: "SERVER_UNAVAILABLE", Skip: rng.IntN(2)})
		return "salesforce " + res + " 503"
	case 2:
		a.w.sf.Inject(fakesalesforce.Fault{Resource: "query", Status: 500, ErrorCode: "UNKNOWN_EXCEPTION", Skip: rng.IntN(4)})
		return "salesforce query 500"
	case 3:
		a.w.sf.Inject(fakesalesforce.Fault{Resource: "composite", Status: 503, ErrorCode: "SERVER_UNAVAILABLE"})
		return "salesforce composite 503"
	default:
		a.w.sf.ExpireSessions()
		return "salesforce sessions expired"
	}
}

func (a sfAdmin) user() side.CRM { return a.w.crmUser }

func (a sfAdmin) editable(kind item.Kind) []string { return editable[kind] }
func (a sfAdmin) checked(kind item.Kind) []string  { return checked[kind] }
func (a sfAdmin) series() bool                     { return true }

func (a sfAdmin) moveOccurrence(id string, orig time.Time) (bool, error) {
	ctx := context.Background()
	recs, err := a.w.admin.Collect(ctx, "SELECT Id, StartDateTime, ActivityRecurrence2Id, GroupEventType FROM Event WHERE Id = '"+id+"'")
	if err != nil || len(recs) != 1 {
		return false, err
	}
	occ, err := a.w.admin.Collect(ctx, "SELECT Id, StartDateTime FROM Event WHERE ActivityRecurrence2Id = '"+recs[0].String("ActivityRecurrence2Id")+"' AND IsChild = false")
	if err != nil {
		return false, err
	}
	for _, o := range occ {
		if t, err := salesforce.ParseTime(o.String("StartDateTime")); err == nil && t.Equal(orig) && o.ID() != id {
			return true, a.w.sf.Update(a.w.sfID, o.ID(), map[string]any{"StartDateTime": orig.Add(time.Hour).Format(time.RFC3339),
				"EndDateTime": orig.Add(2 * time.Hour).Format(time.RFC3339)})
		}
	}
	return false, nil
}
