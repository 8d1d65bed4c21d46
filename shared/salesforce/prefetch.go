package salesforce

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// FeedRequest is one kind's scope and stored cursor, for Prefetch.
type FeedRequest struct {
	Scope  item.Scope
	Cursor string
}

// feeds holds prefetched replication answers until Changes uses them.
type feeds struct {
	mu      sync.Mutex
	updated map[string]feedUpdated
	deleted map[string]feedDeleted
}

type feedUpdated struct {
	ids    []string
	latest time.Time
}

type feedDeleted struct {
	recs             []Deletion
	earliest, latest time.Time
}

func feedKey(object string, start time.Time) string {
	return object + "|" + start.UTC().Format(time.RFC3339)
}

// Prefetch reads the change feeds (getUpdated and getDeleted) of several
// kinds in one composite/batch call, so the Changes calls that follow spend
// no API calls on them: an idle session costs one call instead of two per
// kind. Kinds that will read everything, or whose window is too short for
// the feeds, are left out. Errors are not fatal: Changes then asks itself.
func (s *Side) Prefetch(ctx context.Context, reqs []FeedRequest) error {
	now, err := s.c.ServerTime(ctx)
	if err != nil {
		return err
	}
	end := now.Truncate(time.Minute)
	type want struct {
		object  string
		updated bool
		start   time.Time
	}
	var subs []Subrequest
	var wants []want
	for _, req := range reqs {
		m, err := s.mapping(req.Scope.Kind)
		if err != nil || req.Scope.Kind == item.SharedEmail {
			continue
		}
		cur, ok := decodeCursor(req.Cursor)
		r := &reader{s: s, kind: req.Scope.Kind, m: m, scope: req.Scope}
		if !ok || !r.compatible(cur, now) || end.Sub(cur.U) < shortWindow || end.Sub(cur.D) < shortWindow {
			continue
		}
		subs = append(subs,
			Subrequest{Method: http.MethodGet, URL: "sobjects/" + m.Object + "/updated/?" + window(cur.U, end).Encode()},
			Subrequest{Method: http.MethodGet, URL: "sobjects/" + m.Object + "/deleted/?" + window(cur.D, end).Encode()})
		wants = append(wants, want{m.Object, true, cur.U}, want{m.Object, false, cur.D})
	}
	if len(subs) < 3 {
		// One kind's two feeds cost two calls either way.
		return nil
	}
	res, err := s.c.Batch(ctx, false, subs)
	if err != nil {
		return err
	}
	s.feeds.mu.Lock()
	defer s.feeds.mu.Unlock()
	if s.feeds.updated == nil {
		s.feeds.updated, s.feeds.deleted = map[string]feedUpdated{}, map[string]feedDeleted{}
	}
	for i, r := range res {
		w := wants[i]
		if r.Err != nil {
			continue
		}
		if w.updated {
			var u wireUpdated
			latest, err := parseFeed(r.Body, &u, &u.LatestDateCovered)
			if err == nil {
				s.feeds.updated[feedKey(w.object, w.start)] = feedUpdated{ids: u.IDs, latest: latest}
			}
			continue
		}
		var d wireDeleted
		latest, err := parseFeed(r.Body, &d, &d.LatestDateCovered)
		earliest, err2 := ParseTime(d.EarliestDateAvailable)
		if err != nil || err2 != nil {
			continue
		}
		fd := feedDeleted{earliest: earliest, latest: latest}
		for _, x := range d.DeletedRecords {
			t, _ := ParseTime(x.DeletedDate)
			fd.recs = append(fd.recs, Deletion{ID: x.ID, Deleted: t})
		}
		s.feeds.deleted[feedKey(w.object, w.start)] = fd
	}
	return nil
}

func parseFeed(body json.RawMessage, into any, latest *string) (time.Time, error) {
	if err := json.Unmarshal(body, into); err != nil {
		return time.Time{}, err
	}
	return ParseTime(*latest)
}

// updatedSince answers getUpdated from the prefetched feed when there is
// one, else asks Salesforce.
func (s *Side) updatedSince(ctx context.Context, object string, start, end time.Time) ([]string, time.Time, error) {
	s.feeds.mu.Lock()
	f, ok := s.feeds.updated[feedKey(object, start)]
	delete(s.feeds.updated, feedKey(object, start))
	s.feeds.mu.Unlock()
	if ok {
		return f.ids, f.latest, nil
	}
	return s.c.Updated(ctx, object, start, end)
}

// deletedSince answers getDeleted from the prefetched feed when there is one.
func (s *Side) deletedSince(ctx context.Context, object string, start, end time.Time) ([]Deletion, time.Time, time.Time, error) {
	s.feeds.mu.Lock()
	f, ok := s.feeds.deleted[feedKey(object, start)]
	delete(s.feeds.deleted, feedKey(object, start))
	s.feeds.mu.Unlock()
	if ok {
		return f.recs, f.earliest, f.latest, nil
	}
	return s.c.Deleted(ctx, object, start, end)
}
