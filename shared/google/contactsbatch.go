package google

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// BatchUpdate is how many contacts one people:batchGet reads and one
// people:batchUpdateContacts writes: both allow 200.
const BatchUpdate = 200

// updateContacts updates contacts BatchUpdate at a time: one batchGet reads
// their current state and etags, one batchUpdateContacts writes them back
// with the changed fields (2 requests per 200 contacts instead of 2 per
// contact). A contact gone before the read fails alone (Gone); a batch
// refused — a contact changed since the read (stale etag) or one whose
// content Google rejects — is retried one contact at a time, each read
// again and merged, so nothing is lost and the bad record fails alone.
func (s *Side) updateContacts(ctx context.Context, recs []item.Record) ([]side.Result, error) {
	out := make([]side.Result, len(recs))
	for lo := 0; lo < len(recs); lo += BatchUpdate {
		hi := min(lo+BatchUpdate, len(recs))
		retry, err := s.updateChunk(ctx, recs[lo:hi], out[lo:hi])
		if err != nil {
			return nil, err
		}
		for _, i := range retry {
			err := s.updateContact(ctx, recs[lo+i].ID, recs[lo+i].Fields)
			if wholeCall(err) {
				return nil, err
			}
			out[lo+i] = side.Result{ID: recs[lo+i].ID, Err: err}
		}
	}
	return out, nil
}

// updateChunk writes one chunk; it fills res for the contacts it settled
// and returns the indexes left to write one by one.
func (s *Side) updateChunk(ctx context.Context, recs []item.Record, res []side.Result) ([]int, error) {
	q := url.Values{"personFields": {personFields}}
	for _, r := range recs {
		q.Add("resourceNames", personPath(r.ID))
	}
	var got struct {
		Responses []struct {
			RequestedResourceName string      `json:"requestedResourceName"`
			HTTPStatusCode        int         `json:"httpStatusCode"`
			Person                *wirePerson `json:"person"`
		} `json:"responses"`
	}
	if err := s.c.do(ctx, "GET", s.c.people+"/v1/people:batchGet?"+q.Encode(), nil, &got); err != nil {
		if wholeCall(err) {
			return nil, err
		}
		return indexes(len(recs)), nil
	}
	byName := map[string]*wirePerson{}
	gone := map[string]bool{}
	for _, r := range got.Responses {
		switch {
		case r.HTTPStatusCode == 404:
			gone[r.RequestedResourceName] = true
		case r.Person != nil && (r.Person.Metadata == nil || !r.Person.Metadata.Deleted):
			byName[r.RequestedResourceName] = r.Person
		}
	}
	var body struct {
		Contacts   map[string]wirePerson `json:"contacts"`
		UpdateMask string                `json:"updateMask"`
		ReadMask   string                `json:"readMask"`
	}
	body.Contacts = map[string]wirePerson{}
	body.ReadMask = "metadata"
	mask := map[string]bool{}
	var sent, retry []int
	for i, r := range recs {
		name := personPath(r.ID)
		p, ok := byName[name]
		switch {
		case gone[name]:
			res[i] = side.Result{ID: r.ID, Err: fault.New(fault.Gone, "not_found", "the contact was deleted")}
			continue
		case !ok:
			retry = append(retry, i)
			continue
		}
		fields := p.apply(r.Fields)
		if len(fields) == 0 {
			res[i] = side.Result{ID: r.ID}
			continue
		}
		for _, f := range fields {
			mask[f] = true
		}
		b := *p
		b.Metadata = nil // the etag rides at the top level
		body.Contacts[name] = b
		sent = append(sent, i)
	}
	if len(sent) == 0 {
		return retry, nil
	}
	// Every field of the mask is replaced on every contact of the call;
	// each carries what was just read, so a field another contact changed
	// is written back as it is.
	fields := make([]string, 0, len(mask))
	for f := range mask {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	body.UpdateMask = strings.Join(fields, ",")
	s.c.writes.Lock()
	err := s.c.do(ctx, "POST", s.c.people+"/v1/people:batchUpdateContacts", body, nil)
	s.c.writes.Unlock()
	if wholeCall(err) {
		return nil, err
	}
	if err != nil {
		return append(retry, sent...), nil
	}
	for _, i := range sent {
		res[i] = side.Result{ID: recs[i].ID}
	}
	return retry, nil
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
