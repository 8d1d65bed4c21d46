package salesforce

import (
	"context"
	"slices"
)

// nameFields are the object and the field that names a record of each
// kind a page lists by id.
var nameFields = map[string][2]string{
	"contact": {"Contact", "Name"},
	"task":    {"Task", "Subject"},
	"event":   {"Event", "Subject"},
}

// maxNamesRead bounds the ids read per kind: one sObject Collections read.
const maxNamesRead = CollectionSize

// RecordNames reads records' current names by id with the user's own
// Salesforce client, for pages that list records by id (the conflict log):
// names are read live and never stored.
type RecordNames struct {
	// Client returns a client on the user's connection.
	Client func(ctx context.Context, user string) (*Client, error)
}

// Names returns the names of the records with ids, by kind; an id missing
// from the result no longer exists (or the user may not read it).
func (n RecordNames) Names(ctx context.Context, user string, ids map[string][]string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	client, err := n.Client(ctx, user)
	if err != nil {
		return nil, err
	}
	for kind, list := range ids {
		obj, ok := nameFields[kind]
		if !ok || len(list) == 0 {
			continue
		}
		list = slices.Compact(slices.Sorted(slices.Values(list)))
		recs, err := client.Retrieve(ctx, obj[0], list[:min(len(list), maxNamesRead)], []string{"Id", obj[1]})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out[r.ID()] = r.String(obj[1])
		}
	}
	return out, nil
}
