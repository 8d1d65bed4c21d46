package c4c

import (
	"fmt"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Recurring meetings. C4C appointments have no recurrence rule: the
// c4codataapi Appointment entity has single StartDate/EndDate instants and,
// for SAP's own groupware integration, OccurrenceDate,
// RecurrenceActGroupwareID and RecurringBusinessActivityNodeID, which tie a
// single appointment to a groupware series but cannot describe one. So:
//
//   - every C4C appointment reads as a single event (item.Recurrence "");
//   - a mailbox series (Recurrence set) and its exceptions (SeriesID set)
//     are refused per record with a Permanent fault of code
//     CodeNoRecurrence, naming the meeting: the session shows it as an
//     issue and syncs everything else; nothing is created, so a re-run
//     creates no duplicate and no stray single appointment standing in for
//     a whole series (the session plans a series' exceptions after it and
//     skips them once it failed);
//   - an update that would make a linked appointment recurring is refused
//     the same way, leaving the appointment as it was.
//
// Creating one appointment per occurrence was rejected: occurrences would
// have no mailbox item of their own to link to, so their changes and
// deletions could not be synced back, and each horizon move would add more.

// CodeNoRecurrence is the fault code of a series C4C cannot hold.
const CodeNoRecurrence = "c4c_no_recurrence"

// refuseSeries returns the error for a recurring event record, nil for any
// other record.
func refuseSeries(kind item.Kind, rec item.Record) error {
	if kind != item.Event {
		return nil
	}
	if rec.Fields[item.Recurrence] == "" && rec.Fields[item.SeriesID] == "" {
		return nil
	}
	return fault.New(fault.Permanent, CodeNoRecurrence, fmt.Sprintf("C4C has no recurring appointments: the recurring meeting %q is not synced", rec.Fields[item.Subject]))
}
