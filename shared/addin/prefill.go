package addin

import (
	"net/http"
	"net/mail"
	"strings"
)

// maxSignature caps the signature text the add-in sends.
const maxSignature = 16 << 10

// PrefillRequest is what the add-in knows about a sender.
type PrefillRequest struct {
	FromName    string `json:"fromName"`
	FromAddress string `json:"fromAddress"`
	// Signature is the plain text of the e-mail's signature (or the end of
	// its body); it is parsed in memory and dropped.
	Signature string `json:"signature"`
	// Object is "Contact" (default) or "Lead".
	Object string `json:"object"`
}

// PrefillAnswer proposes field values for a new record. Account holds what
// belongs to the contact's account (company, website) rather than to a
// Contact field.
type PrefillAnswer struct {
	Object  string            `json:"object"`
	Fields  map[string]string `json:"fields"`
	Account map[string]string `json:"account,omitempty"`
}

// prefill answers POST /prefill. It needs no CRM call.
func (a *API) prefill(w http.ResponseWriter, r *http.Request) {
	var req PrefillRequest
	if !readJSON(w, r, &req) {
		return
	}
	switch {
	case req.Object == "":
		req.Object = "Contact"
	case req.Object != "Contact" && req.Object != "Lead":
		writeError(w, http.StatusBadRequest, "bad_object", `object must be "Contact" or "Lead"`)
		return
	}
	if len(req.Signature) > maxSignature || len(req.FromName) > 256 {
		writeError(w, http.StatusBadRequest, "too_long", "the signature is at most 16 KiB and the name 256 bytes")
		return
	}
	addr := ""
	if req.FromAddress != "" {
		p, err := mail.ParseAddress(req.FromAddress)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_email", "fromAddress is not an e-mail address")
			return
		}
		addr = p.Address
	}
	sig := ParseSignature(req.FromName, addr, req.Signature)
	writeJSON(w, http.StatusOK, prefillFields(req.Object, sig))
}

// prefillFields maps a parsed signature to a Contact's or a Lead's fields.
func prefillFields(object string, s Signature) PrefillAnswer {
	ans := PrefillAnswer{Object: object, Fields: map[string]string{}}
	set := func(m map[string]string, k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			m[k] = v
		}
	}
	set(ans.Fields, "FirstName", s.FirstName)
	set(ans.Fields, "LastName", s.LastName)
	set(ans.Fields, "Email", s.Email)
	set(ans.Fields, "Title", s.Title)
	set(ans.Fields, "Phone", s.Phone)
	set(ans.Fields, "MobilePhone", s.Mobile)
	prefix := "Mailing"
	if object == "Lead" {
		prefix = ""
		set(ans.Fields, "Company", s.Company)
		set(ans.Fields, "Website", s.Website)
	} else {
		ans.Account = map[string]string{}
		set(ans.Account, "Name", s.Company)
		set(ans.Account, "Website", s.Website)
		if len(ans.Account) == 0 {
			ans.Account = nil
		}
	}
	set(ans.Fields, prefix+"Street", s.Street)
	set(ans.Fields, prefix+"City", s.City)
	set(ans.Fields, prefix+"State", s.State)
	set(ans.Fields, prefix+"PostalCode", s.PostalCode)
	set(ans.Fields, prefix+"Country", s.Country)
	return ans
}
