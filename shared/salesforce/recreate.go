package salesforce

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// recreateSeries changes a classic series' pattern the one way Salesforce
// allows: its series record's pattern fields cannot be changed, so the
// series is made again — its current fields with the update's on top — and
// the old series (with its occurrences) is deleted. The result carries the
// new series' id, which the engine adopts for the link. The new series is
// created before the old one goes, so a failure never loses the meeting;
// when the old series cannot be deleted the new one is deleted again and
// the update fails, so there is never one series twice.
func (s *Side) recreateSeries(ctx context.Context, m Mapping, rec item.Record) (side.Result, error) {
	got, err := s.c.Retrieve(ctx, "Event", []string{rec.ID}, s.selectFields(item.Event, m))
	if err != nil {
		return side.Result{}, err
	}
	if len(got) != 1 {
		return side.Result{Err: fault.New(fault.Gone, "ENTITY_IS_DELETED", "the series is gone")}, nil
	}
	cur := got[0]
	merged := s.toItem(item.Event, m, cur)
	merged.ID = ""
	for k, v := range rec.Fields {
		merged.Fields[k] = v
	}
	var markers []string
	if f := s.marker[item.Event]; f != "" {
		markers = []string{cur.String(f)}
	}
	res, err := s.Create(ctx, item.Event, []item.Record{merged}, markers)
	if err != nil {
		return side.Result{}, err
	}
	if res[0].Err != nil {
		return side.Result{Err: res[0].Err}, nil
	}
	created := res[0].ID
	del, err := s.c.Delete(ctx, []string{rec.ID})
	var recErr error
	if err == nil && len(del) == 1 && del[0].Err != nil && !fault.Is(del[0].Err, fault.Gone) {
		recErr = perRecord(m, del[0].Err)
	}
	if err != nil || recErr != nil {
		if _, rerr := s.c.Delete(ctx, []string{created}); rerr != nil {
			s.log.Warn("salesforce series recreated but neither the old nor the new one could be deleted", slog.String("error", rerr.Error()))
		}
		return side.Result{Err: recErr}, err
	}
	return side.Result{ID: created}, nil
}
