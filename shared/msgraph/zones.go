package msgraph

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // every IANA zone the table names, whatever the host's zoneinfo holds

	"github.com/crmsync/crmsync/shared/winzone"
)

// preferUTC asks Graph for event times in UTC. Sent on every request: the
// header only affects resources with dateTimeTimeZone values, and without it
// Graph answers in UTC or, for some calls, in the zone the event was made in.
const preferUTC = `outlook.timezone="UTC"`

// zoneError is a time-zone name crmsync cannot place: the item it came with
// becomes an issue, never an event shifted to UTC.
type zoneError struct{ name string }

func (e *zoneError) Error() string { return fmt.Sprintf("unknown time zone %q", e.name) }

// location resolves a time-zone name as Graph reports it: a Windows name
// ("W. Europe Standard Time", through CLDR's table), an IANA name
// ("Europe/Amsterdam"), or UTC.
func location(name string) (*time.Location, error) {
	n := strings.TrimSpace(name)
	switch strings.ToLower(n) {
	case "utc", "etc/utc", "tzone://microsoft/utc", "coordinated universal time":
		return time.UTC, nil
	case "", "local", "tzone://microsoft/custom":
		// Local would be the server's zone; Custom is a zone Outlook defined
		// by rules Graph does not report.
		return nil, &zoneError{name: name}
	}
	if iana, ok := winzone.IANA(n); ok {
		n = iana
	}
	loc, err := time.LoadLocation(n)
	if err != nil {
		return nil, &zoneError{name: name}
	}
	return loc, nil
}
