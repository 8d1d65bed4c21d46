package salesforce

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// The replication API's windows: getUpdated reaches 30 days back, getDeleted
// only 15, and both truncate times to the minute.
const (
	UpdatedWindow = 30 * 24 * time.Hour
	DeletedWindow = 15 * 24 * time.Hour
)

// Deletion is one record reported by getDeleted.
type Deletion struct {
	ID      string
	Deleted time.Time
}

// Updated returns the ids of records of object changed in [start, end)
// (getUpdated) and the latest time the answer covers; resume from it, not
// from "now". A window Salesforce refuses (too old, too short, more than
// 600,000 ids) is fault.Expired.
func (c *Client) Updated(ctx context.Context, object string, start, end time.Time) ([]string, time.Time, error) {
	if !validName(object) {
		return nil, time.Time{}, fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(object))
	}
	var w wireUpdated
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/" + object + "/updated/", query: window(start, end)}, &w)
	if err != nil {
		return nil, time.Time{}, err
	}
	latest, err := ParseTime(w.LatestDateCovered)
	if err != nil {
		return nil, time.Time{}, malformed(err, 0)
	}
	return w.IDs, latest, nil
}

// Deleted returns records of object deleted in [start, end) (getDeleted),
// the earliest date the delete log still covers, and the latest date the
// answer covers. If earliest is after start, deletes were missed.
func (c *Client) Deleted(ctx context.Context, object string, start, end time.Time) (recs []Deletion, earliest, latest time.Time, err error) {
	if !validName(object) {
		return nil, earliest, latest, fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(object))
	}
	var w wireDeleted
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/" + object + "/deleted/", query: window(start, end)}, &w); err != nil {
		return nil, earliest, latest, err
	}
	if earliest, err = ParseTime(w.EarliestDateAvailable); err != nil {
		return nil, earliest, latest, malformed(err, 0)
	}
	if latest, err = ParseTime(w.LatestDateCovered); err != nil {
		return nil, earliest, latest, malformed(err, 0)
	}
	for _, d := range w.DeletedRecords {
		t, _ := ParseTime(d.DeletedDate)
		recs = append(recs, Deletion{ID: d.ID, Deleted: t})
	}
	return recs, earliest, latest, nil
}

func window(start, end time.Time) url.Values {
	return url.Values{
		"start": {start.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05Z")},
		"end":   {end.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05Z")},
	}
}

// ParseTime reads a Salesforce date-time ("2026-05-08T21:20:00.000+0000").
func ParseTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}
