package addin

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Search limits.
const (
	// MaxSearchText caps the search text, in characters.
	MaxSearchText = 100
	// DefaultSearchLimit and MaxSearchLimit bound the hits returned.
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	// maxSearchObjects caps the objects of one search.
	maxSearchObjects = 10
)

// defaultSearchObjects are searched when the add-in names none.
var defaultSearchObjects = []string{"Account", "Contact", "Lead", "Opportunity", "Case"}

// SearchAnswer is a search's hits.
type SearchAnswer struct {
	Hits []Hit `json:"hits"`
}

// search answers GET /search?q=…&objects=Account,Contact&limit=20. The text
// goes to the CRM as data (CRM.Search escapes it); the object names are
// checked here, so neither can change what is searched.
func (a *API) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	switch n := utf8.RuneCountInString(text); {
	case n < 2:
		writeError(w, http.StatusBadRequest, "short_query", "search for at least 2 characters")
		return
	case n > MaxSearchText:
		writeError(w, http.StatusBadRequest, "long_query", "search for at most 100 characters")
		return
	}
	objects := defaultSearchObjects
	if s := q.Get("objects"); s != "" {
		objects = nil
		for _, o := range strings.Split(s, ",") {
			o = strings.TrimSpace(o)
			if !objectName.MatchString(o) {
				writeError(w, http.StatusBadRequest, "bad_object", "objects must be object names separated by commas")
				return
			}
			objects = append(objects, o)
		}
		if len(objects) > maxSearchObjects {
			writeError(w, http.StatusBadRequest, "too_many", "search at most 10 objects at once")
			return
		}
	}
	limit := DefaultSearchLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxSearchLimit {
			writeError(w, http.StatusBadRequest, "bad_limit", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	hits, err := crm.Search(r.Context(), text, objects, limit)
	if err != nil {
		a.crmError(w, r, "search", err)
		return
	}
	if hits == nil {
		hits = []Hit{}
	}
	writeJSON(w, http.StatusOK, SearchAnswer{Hits: hits[:min(len(hits), limit)]})
}
