package msgraph

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Contacts and To Do tasks are synced from one folder or list, and shared
// from any other by the share category, as meetings are. Graph has no delta
// across folders and no category filter in a delta, so after each delta
// round the other folders (or lists) are asked, in one $batch, for items
// with the share category changed since the last round (all of them on a
// full round). The other folders are listed again on a full round and once
// a day; their ids ride in the cursor.

// contactSelect are the contact properties crmsync reads.
const contactSelect = "givenName,surname,emailAddresses,businessPhones,mobilePhone,jobTitle,department,businessAddress,categories,changeKey,lastModifiedDateTime"

// taskListSep joins a To Do list id and a task id into the record id of a
// task shared from a list other than the synced one ("!" is not in Graph ids).
const taskListSep = "!"

// relistEvery is how often the other folders and lists are listed again.
const relistEvery = 24 * time.Hour

// defaultContacts stands for the mailbox's default contact folder, which
// /contactFolders does not list.
const defaultContacts = "contacts"

func (s *Side) sharedElsewhere(ctx context.Context, scope item.Scope, cur string, ch item.Changes) (item.Changes, error) {
	old, _ := parseCursor(cur)
	next, err := parseCursor(ch.Cursor)
	if err != nil {
		return ch, nil
	}
	now := time.Now().UTC()
	others := old.Others
	listed := old.Listed
	if ch.Full || listed.IsZero() || now.Sub(listed) > relistEvery {
		if others, err = s.otherContainers(ctx, scope, next.Container); err != nil {
			return item.Changes{}, err
		}
		listed = now
	}
	category := or(scope.ShareCategory, s.opts.ShareCategory)
	filter := "categories/any(c:c eq " + q(category) + ")"
	since := old.Since
	if !ch.Full && !since.IsZero() {
		filter += " and lastModifiedDateTime ge " + since.UTC().Format(time.RFC3339Nano)
	}
	parts := make([]part, 0, len(others))
	for _, o := range others {
		var path string
		switch scope.Kind {
		case item.Contact:
			path = s.c.mailbox() + "/contactFolders/" + o + "/contacts"
			if o == defaultContacts {
				path = s.c.mailbox() + "/contacts"
			}
			path = withQuery(path, "$filter", filter, "$select", contactSelect+s.customSelect(item.Contact))
		case item.Task:
			path = withQuery(s.c.mailbox()+"/todo/lists/"+o+"/tasks", "$filter", filter, "$expand", "linkedResources")
		}
		parts = append(parts, part{method: http.MethodGet, path: path})
	}
	var res []partResult
	if len(parts) == 1 {
		// One folder: a plain GET costs the same as a batch of one.
		resp, err := s.c.call(ctx, request{method: http.MethodGet, path: parts[0].path})
		res = []partResult{{status: resp.status, body: resp.body, err: err}}
	} else if res, err = s.c.batch(ctx, parts); err != nil {
		return item.Changes{}, err
	}
	have := map[string]bool{}
	for _, r := range ch.Records {
		have[r.ID] = true
	}
	newest := since
	for i, p := range res {
		switch {
		case fault.Is(p.err, fault.Gone):
			continue // a folder deleted since it was listed: the next listing drops it
		case p.err != nil:
			return item.Changes{}, p.err // the watermark stays: asked again next round
		}
		var page wirePage
		if err := json.Unmarshal(p.body, &page); err != nil {
			return item.Changes{}, malformed("category query", err)
		}
		for _, raw := range page.Value {
			var rec item.Record
			switch scope.Kind {
			case item.Contact:
				var w wireContact
				if err := json.Unmarshal(raw, &w); err != nil {
					return item.Changes{}, malformed("contact", err)
				}
				rec = contactRecord(w)
				if err := s.readCustomProps(item.Contact, raw, &rec); err != nil {
					return item.Changes{}, err
				}
			case item.Task:
				var w wireTask
				if err := json.Unmarshal(raw, &w); err != nil {
					return item.Changes{}, malformed("task", err)
				}
				rec = taskRecord(w)
				rec.ID = others[i] + taskListSep + w.ID
				if !taskInScope(rec, scope) {
					continue
				}
			}
			if !rec.HasCategory(category) || have[rec.ID] || !ch.Full && !since.IsZero() && !rec.Modified.After(since) {
				continue // not shared, reported by the delta, or reported last round
			}
			have[rec.ID] = true
			ch.Records = append(ch.Records, rec)
			if rec.Modified.After(newest) {
				newest = rec.Modified
			}
		}
	}
	// The query asks "ge" the watermark at full precision, and drops what is
	// not newer: the item at the watermark was reported last round.
	next.Since, next.Others, next.Listed = newest, others, listed
	ch.Cursor = next.String()
	return ch, nil
}

// otherContainers lists the contact folders (with the default one) or To Do
// lists other than the synced one.
func (s *Side) otherContainers(ctx context.Context, scope item.Scope, synced string) ([]string, error) {
	var path string
	var out []string
	switch scope.Kind {
	case item.Contact:
		path = s.c.mailbox() + "/contactFolders"
		out = append(out, defaultContacts)
	case item.Task:
		path = s.c.mailbox() + "/todo/lists"
	}
	raw, err := s.c.list(ctx, withQuery(path, "$select", "id,displayName"))
	if err != nil {
		return nil, err
	}
	for _, x := range raw {
		var f wireFolder
		if err := json.Unmarshal(x, &f); err != nil {
			return nil, malformed("folder", err)
		}
		if f.ID != "" && f.ID != synced && !slices.Contains(out, f.ID) {
			out = append(out, f.ID)
		}
	}
	return out, nil
}
