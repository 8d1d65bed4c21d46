package msgraph

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // every IANA zone the table names, whatever the host's zoneinfo holds

	"github.com/crmsync/crmsync/shared/item"
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

// graphZone is the name crmsync writes for an IANA zone in a dateTimeTimeZone
// or a recurrenceTimeZone: its Windows name where CLDR gives the zone one
// (every Windows name is accepted on a write; IANA names only from the
// calendar API's shorter list of "additional time zones",
// resources/datetimetimezone), else the IANA name itself.
func graphZone(loc *time.Location) string {
	name := loc.String()
	if loc == time.UTC || name == "UTC" {
		return "UTC"
	}
	out := ""
	for _, w := range winzone.Names() {
		// The first name in order, should two Windows zones share it.
		if iana, _ := winzone.IANA(w); iana == name && (out == "" || w < out) {
			out = w
		}
	}
	if out == "" {
		return name
	}
	return out
}

// seriesLocation is the zone a series' fields ask for (item.TimeZone), UTC
// when they name none.
func seriesLocation(f map[string]string) (*time.Location, error) {
	name := strings.TrimSpace(f[item.TimeZone])
	if name == "" {
		return time.UTC, nil
	}
	loc, err := location(name)
	if err != nil {
		return nil, badField(item.TimeZone, "unknown time zone "+strconv.Quote(name))
	}
	return loc, nil
}
