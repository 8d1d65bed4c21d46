package addin

import (
	"context"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
)

// PeopleAnswer is the reading pane's data: the CRM records behind each
// address, and the accounts they belong to.
type PeopleAnswer struct {
	// People maps each requested address (lower case) to its records; an
	// address the CRM does not know maps to an empty list.
	People map[string][]Person `json:"people"`
	// Accounts are the accounts of the people found, with their open
	// Opportunities and Cases.
	Accounts map[string]Account `json:"accounts"`
}

// people answers GET /people?email=a@x.com&email=b@y.com.
func (a *API) people(w http.ResponseWriter, r *http.Request) {
	addrs, bad := addresses(r.URL.Query()["email"])
	switch {
	case bad != "":
		writeError(w, http.StatusBadRequest, "bad_email", "email parameter "+bad+" is not an e-mail address")
		return
	case len(addrs) == 0:
		writeError(w, http.StatusBadRequest, "missing_email", "give at least one email parameter")
		return
	case len(addrs) > MaxPeople:
		writeError(w, http.StatusBadRequest, "too_many", "at most 500 addresses per call")
		return
	}
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	ans, err := lookupPeople(r.Context(), crm, addrs)
	if err != nil {
		a.crmError(w, r, "people", err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// lookupPeople finds the people behind addrs and their accounts with one
// FindPeople call per PeopleChunk addresses and one Accounts call per
// PeopleChunk accounts.
func lookupPeople(ctx context.Context, crm CRM, addrs []string) (PeopleAnswer, error) {
	ans := PeopleAnswer{People: make(map[string][]Person, len(addrs)), Accounts: map[string]Account{}}
	for _, addr := range addrs {
		ans.People[addr] = []Person{}
	}
	var accountIDs []string
	seenAccount := map[string]bool{}
	for chunk := range slices.Chunk(addrs, PeopleChunk) {
		found, err := crm.LookupPeople(ctx, chunk)
		if err != nil {
			return PeopleAnswer{}, err
		}
		for _, p := range found {
			key := strings.ToLower(p.Email)
			if _, asked := ans.People[key]; !asked {
				continue
			}
			ans.People[key] = append(ans.People[key], p)
			if p.AccountID != "" && !seenAccount[p.AccountID] {
				seenAccount[p.AccountID] = true
				accountIDs = append(accountIDs, p.AccountID)
			}
		}
	}
	for chunk := range slices.Chunk(accountIDs, PeopleChunk) {
		accts, err := crm.Accounts(ctx, chunk, PerAccount)
		if err != nil {
			return PeopleAnswer{}, err
		}
		for _, acc := range accts {
			acc.Opportunities = bounded(acc.Opportunities)
			acc.Cases = bounded(acc.Cases)
			ans.Accounts[acc.ID] = acc
		}
	}
	for addr, ps := range ans.People {
		// Contacts first: they are the records people work with.
		slices.SortStableFunc(ps, func(x, y Person) int { return strings.Compare(x.Object, y.Object) })
		ans.People[addr] = ps
	}
	return ans, nil
}

// bounded keeps at most PerAccount entries and never answers null.
func bounded(s []Summary) []Summary {
	if s == nil {
		return []Summary{}
	}
	return s[:min(len(s), PerAccount)]
}

// addresses parses, lower-cases and de-duplicates e-mail parameters. bad
// is the position of the first one that is not a plain address.
func addresses(raw []string) (out []string, bad string) {
	for i, s := range raw {
		s = strings.ToLower(strings.TrimSpace(s))
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" {
			return nil, "#" + strconv.Itoa(i+1)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, ""
}
