package fakesalesforce

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Manual sharing, as a record's owner grants it (Object Reference:
// AccountShare, StandardObjectNameShare: a sharing row gives one user Read
// or Edit on one record, RowCause Manual). The server otherwise follows
// owner-based visibility (a Private org-wide default): a user sees and edits
// what they own, so a Read share is what makes a record visible but not
// editable. What a user without access gets (FIDELITY.md): a record they
// cannot see does not exist for them (GET 404 NOT_FOUND), a record shared
// read-only refuses an update with 403 INSUFFICIENT_ACCESS_OR_READONLY.

// Access levels of a sharing row.
const (
	AccessRead = "Read"
	AccessEdit = "Edit"
)

// ShareRecord gives a user Read or Edit access to a record they do not
// own, as the owner's manual share does; access "" removes the share.
func (s *Server) ShareRecord(recordID, userID, access string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[recordID]
	if r == nil {
		return fmt.Errorf("fakesalesforce: no record %s", recordID)
	}
	if s.users[userID] == nil {
		return fmt.Errorf("fakesalesforce: no user %s", userID)
	}
	if access != "" && access != AccessRead && access != AccessEdit {
		return fmt.Errorf("fakesalesforce: access level %q (want Read or Edit)", access)
	}
	if s.shares == nil {
		s.shares = map[string]map[string]string{}
	}
	if access == "" {
		delete(s.shares[recordID], userID)
		return nil
	}
	if s.shares[recordID] == nil {
		s.shares[recordID] = map[string]string{}
	}
	s.shares[recordID][userID] = access
	return nil
}

// sharedAccess is the access a sharing row gives u on r ("" for none);
// s.mu is held.
func (s *Server) sharedAccess(u *account, r *record) string {
	return s.shares[r.id][u.id]
}

// AddCustomObjects declares more custom objects at run time, as an admin
// deploying new objects to a running org; the schema is the CustomSchema
// JSON. Objects already known are refused (use CustomSchema for fields on
// existing ones), and each new object needs its own keyPrefix.
func (s *Server) AddCustomObjects(schema []byte) error {
	var sc Schema
	dec := json.NewDecoder(strings.NewReader(string(schema)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return fmt.Errorf("fakesalesforce: custom schema: %w", err)
	}
	objs, err := loadSchema(schema)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prefixes := map[string]bool{}
	for _, o := range s.objects {
		prefixes[o.KeyPrefix] = true
	}
	for _, c := range sc.Objects {
		key := strings.ToLower(c.Name)
		if s.objects[key] != nil {
			return fmt.Errorf("fakesalesforce: object %s exists already", c.Name)
		}
		if c.KeyPrefix == "" || prefixes[c.KeyPrefix] {
			return fmt.Errorf("fakesalesforce: object %s needs a keyPrefix of its own", c.Name)
		}
		prefixes[c.KeyPrefix] = true
	}
	for _, c := range sc.Objects {
		key := strings.ToLower(c.Name)
		s.objects[key] = objs[key]
	}
	return nil
}
