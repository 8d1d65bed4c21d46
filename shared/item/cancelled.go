package item

import (
	"hash/fnv"
	"strconv"
)

// CancelledVersion is a series' version with its cancelled dates (the
// Cancelled field) folded in. Cancelling an occurrence deletes it, which
// leaves the series' own version (Salesforce SystemModstamp, Exchange
// changeKey) as it was or moves it for other reasons, yet the series
// changed: what the planner compares must move when the dates do. The dates
// reach the version, and so storage, only as a short hash, a change marker.
func CancelledVersion(version, cancelled string) string {
	if cancelled == "" {
		return version
	}
	h := fnv.New32a()
	h.Write([]byte(cancelled))
	return version + "~" + strconv.FormatUint(uint64(h.Sum32()), 36)
}
