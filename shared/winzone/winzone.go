// Package winzone maps Windows time-zone names ("W. Europe Standard Time"),
// which Microsoft 365 reports, to IANA zones, through CLDR's windowsZones
// table. The Graph client and the local Graph both read it: it is CLDR's
// data, not either one's understanding of Graph.
package winzone

//go:generate go run ./internal/genzones -output table.go

import "strings"

// lower is windowsZones keyed by lower-case name: Windows names are
// case-insensitive.
var lower = func() map[string]string {
	m := make(map[string]string, len(windowsZones))
	for k, v := range windowsZones {
		m[strings.ToLower(k)] = v
	}
	return m
}()

// IANA returns the IANA zone of a Windows zone name, in any case, and
// whether the name is one CLDR lists.
func IANA(windows string) (string, bool) {
	iana, ok := lower[strings.ToLower(strings.TrimSpace(windows))]
	return iana, ok
}

// Names returns every Windows zone name CLDR lists, in no order.
func Names() []string {
	out := make([]string, 0, len(windowsZones))
	for k := range windowsZones {
		out = append(out, k)
	}
	return out
}
