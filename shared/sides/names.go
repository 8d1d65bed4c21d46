package sides

import (
	"context"
	"slices"
)

// nameFields are the Salesforce object and the field that names a record of
// each kind the conflict log lists.
var nameFields = map[string][2]string{
	"contact": {"Contact", "Name"},
	"task":    {"Task", "Subject"},
	"event":   {"Event", "Subject"},
}

// maxNamesRead bounds the ids one page asks names for, per kind (one
// sObject Collections read of up to 200).
const maxNamesRead = 200

// RecordNames reads records' current names from the user's Salesforce with
// the user's own credentials, for pages that list records by id (the
// conflict log): names are read live and never stored.
type RecordNames struct {
	Opener *Opener
}

// Names returns the names of the records with ids, by kind; an id without a
// name in the result no longer exists (or the user may not read it).
func (n RecordNames) Names(ctx context.Context, user string, ids map[string][]string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	side, err := n.Opener.OpenSalesforce(ctx, user)
	if err != nil {
		return nil, err
	}
	client := side.Client()
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
