package salesforce

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// cursorState is what a change cursor remembers: which scope it belongs to
// and how far each change feed has been read. It holds no record data.
type cursorState struct {
	V    int    `json:"v"`
	Kind string `json:"k"`
	View string `json:"lv,omitempty"`
	// From and To are the scope window the cursor was taken with (dates).
	From string `json:"f,omitempty"`
	To   string `json:"t,omitempty"`
	// U and D are the latestDateCovered of getUpdated and getDeleted; M is
	// the SystemModstamp checkpoint of the short-window query.
	U time.Time `json:"u"`
	D time.Time `json:"d"`
	M time.Time `json:"m"`
	// F is when the scope was last read whole (zero in cursors written
	// before it was kept, which makes their next read a full one).
	F time.Time `json:"fr,omitzero"`
}

const cursorVersion = 1

func (c cursorState) encode() string {
	c.V = cursorVersion
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor; a cursor from another version or a damaged
// one reads as absent, which makes the side read everything again.
func decodeCursor(s string) (cursorState, bool) {
	var c cursorState
	if s == "" {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.V != cursorVersion || c.U.IsZero() || c.D.IsZero() {
		return cursorState{}, false
	}
	return c, true
}

func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}
