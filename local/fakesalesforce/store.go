package fakesalesforce

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"path"
	"strings"
	"time"
)

// record is one stored sObject row. Values are string, bool, float64,
// time.Time (date-times) or nil; dates are "2006-01-02" strings.
type record struct {
	obj       *Object
	id        string
	f         map[string]any
	deleted   bool
	deletedAt time.Time
}

func (r *record) str(name string) string {
	s, _ := r.f[name].(string)
	return s
}

type deletion struct {
	obj, id string
	at      time.Time
}

// DuplicateRule blocks a second record of Object whose Field matches an
// existing one (ignoring case), answering DUPLICATES_DETECTED with a
// duplicateResult that lists the matching record and a fieldDiff for Field
// (SAME) and for each Compared field.
type DuplicateRule struct {
	Object, Field string
	// Name is the rule's developer name, reported in duplicateResult.
	Name string
	// Compared are further fields the matching rule compares: reported in
	// fieldDiffs as SAME, DIFFERENT or NULL, but not needed for a match.
	Compared []string
}

// ValidationRule rejects records for which Reject returns true, answering
// FIELD_CUSTOM_VALIDATION_EXCEPTION with Message about Field.
type ValidationRule struct {
	Object, Field, Message string
	Reject                 func(fields map[string]any) bool
}

// AddDuplicateRule activates a duplicate rule.
func (s *Server) AddDuplicateRule(r DuplicateRule) {
	s.mu.Lock()
	s.dupes = append(s.dupes, r)
	s.mu.Unlock()
}

// AddValidationRule activates a validation rule.
func (s *Server) AddValidationRule(r ValidationRule) {
	s.mu.Lock()
	s.rules = append(s.rules, r)
	s.mu.Unlock()
}

// User describes a user to add to the org.
type User struct {
	Username, Password, Email, FirstName, LastName string
	// Admin users see and edit every record ("View All Data") and are on
	// the System Administrator profile.
	Admin bool
	// Profile names the user's profile (ProfileStandardUser when empty,
	// ProfileSystemAdministrator for Admin).
	Profile string
}

// AddUser adds a user and returns its id.
func (s *Server) AddUser(u User) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.users {
		if strings.EqualFold(a.username, u.Username) {
			return "", fmt.Errorf("fakesalesforce: user %s exists", u.Username)
		}
	}
	fields := map[string]any{"Username": u.Username, "Email": u.Email, "FirstName": u.FirstName, "LastName": u.LastName,
		"Alias": alias(u), "TimeZoneSidKey": "GMT"}
	id := s.ids.next("005")
	acct := &account{id: id, username: u.Username, password: u.Password, admin: u.Admin}
	s.users[id] = acct
	if _, err := s.insert(acct, s.object("User"), fields, id); err != nil {
		delete(s.users, id)
		return "", err
	}
	if s.profiles == nil {
		if err := s.seedProfiles(acct); err != nil {
			return "", err
		}
	}
	profile := u.Profile
	switch {
	case profile != "":
	case u.Admin:
		profile = ProfileSystemAdministrator
	default:
		profile = ProfileStandardUser
	}
	if err := s.assignProfile(acct, id, profile); err != nil {
		return "", err
	}
	return id, nil
}

func alias(u User) string {
	a := strings.ToLower(u.FirstName + u.LastName)
	if len(a) > 8 {
		a = a[:8]
	}
	return a
}

// IssueToken returns a new access token for a user, as if the user had
// signed in; tests use it to skip the OAuth dance.
func (s *Server) IssueToken(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.orgID[:15] + "!" + randomToken(48)
	s.tokens[tok] = &grant{userID: userID, clientID: s.opts.Clients[0].ID, scope: "api refresh_token", issued: s.now()}
	return tok
}

// Insert creates a record as userID, bypassing HTTP (seeding, tests acting
// "on the Salesforce side"). Values use the JSON forms the API accepts.
func (s *Server) Insert(userID, object string, fields map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, obj := s.users[userID], s.object(object)
	if u == nil || obj == nil {
		return "", fmt.Errorf("fakesalesforce: unknown user or object")
	}
	return s.insert(u, obj, fields, "")
}

// Update changes a record as userID, bypassing HTTP.
func (s *Server) Update(userID, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("fakesalesforce: unknown user")
	}
	return s.update(u, id, fields, "")
}

// Delete moves a record to the recycle bin as userID, bypassing HTTP.
func (s *Server) Delete(userID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("fakesalesforce: unknown user")
	}
	return s.remove(u, id, "")
}

// Record returns a copy of a record's fields (nil if it never existed), for
// tests that check what was written.
func (s *Server) Record(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[id]
	if r == nil {
		return nil
	}
	out := make(map[string]any, len(r.f))
	for k, v := range r.f {
		out[k] = v
	}
	return out
}

// EmptyRecycleBin purges deleted records and the delete log, as Salesforce
// does when the bin is emptied or the log grows too large: getDeleted then
// reports an earliestDateAvailable of now.
func (s *Server) EmptyRecycleBin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.records {
		if r.deleted {
			r.f = nil
			delete(s.records, id)
			list := s.byObj[r.obj.Name]
			for i, x := range list {
				if x == r {
					s.byObj[r.obj.Name] = append(list[:i:i], list[i+1:]...)
					break
				}
			}
		}
	}
	s.deletes = nil
	s.earliestDeleted = s.now().Truncate(time.Minute)
}

// canSee applies owner-based visibility: a user sees records they own, tasks
// and events they are related to through TaskRelation/EventRelation, and
// records without an owner; admins see everything.
func (s *Server) canSee(u *account, r *record) bool {
	if u.admin {
		return true
	}
	switch r.obj.Name {
	case "TaskRelation", "EventRelation":
		parent := s.records[r.str(map[string]string{"TaskRelation": "TaskId", "EventRelation": "EventId"}[r.obj.Name])]
		return parent != nil && s.canSee(u, parent)
	case "ContentDocumentLink":
		if e := s.records[r.str("LinkedEntityId")]; e != nil && s.canSee(u, e) {
			return true
		}
		d := s.records[r.str("ContentDocumentId")]
		return d != nil && d.str("OwnerId") == u.id
	}
	if !r.obj.Owned || r.str("OwnerId") == u.id || s.sharedAccess(u, r) != "" {
		return true
	}
	if r.obj.Name == "Task" || r.obj.Name == "Event" {
		for _, rel := range s.relations(r.id) {
			if rel.str("RelationId") == u.id {
				return true
			}
		}
	}
	return false
}

func (s *Server) canEdit(u *account, r *record) bool {
	if u.admin {
		return true
	}
	switch r.obj.Name {
	case "TaskRelation", "EventRelation":
		parent := s.records[r.str(map[string]string{"TaskRelation": "TaskId", "EventRelation": "EventId"}[r.obj.Name])]
		return parent != nil && s.canEdit(u, parent)
	}
	return !r.obj.Owned || r.str("OwnerId") == u.id || s.sharedAccess(u, r) == AccessEdit
}

// relations returns the live TaskRelation/EventRelation rows of an activity.
func (s *Server) relations(parentID string) []*record {
	var out []*record
	for _, r := range s.rels[parentID] {
		if !r.deleted && s.records[r.id] == r {
			out = append(out, r)
		}
	}
	return out
}

func errf(code string, fields []string, format string, args ...any) recordError {
	if fields == nil {
		fields = []string{}
	}
	return recordError{StatusCode: code, Message: fmt.Sprintf(format, args...), Fields: fields}
}

// insert validates and stores a new record; s.mu is held. id is preset for
// users; blobs go to s.blobs.
func (s *Server) insert(u *account, obj *Object, in map[string]any, id string) (string, error) {
	now := s.now()
	f := map[string]any{}
	var blob []byte
	for name, raw := range in {
		if name == "attributes" {
			continue
		}
		fd := obj.field(name)
		if fd == nil {
			return "", errf("INVALID_FIELD", []string{name}, "No such column '%s' on sobject of type %s", name, obj.Name)
		}
		if fd.Name == "Id" {
			return "", errf("INVALID_FIELD", []string{"Id"}, "cannot specify Id in an insert call")
		}
		if fd.ReadOnly {
			return "", errf("INVALID_FIELD_FOR_INSERT_UPDATE", []string{fd.Name}, "Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", fd.Name)
		}
		if fd.Type == typeBase64 {
			b, err := decodeBase64(raw)
			if err != nil {
				return "", errf("JSON_PARSER_ERROR", []string{fd.Name}, "Cannot deserialize instance of base64 from VALUE_STRING for %s", fd.Name)
			}
			blob = b
			continue
		}
		v, err := s.convert(obj, fd, raw)
		if err != nil {
			return "", err
		}
		f[fd.Name] = v
	}
	for i := range obj.Fields {
		fd := &obj.Fields[i]
		if _, set := f[fd.Name]; !set && fd.Default != nil {
			f[fd.Name] = fd.Default
		}
	}
	if obj.Owned && f["OwnerId"] == nil {
		f["OwnerId"] = u.id
	}
	if id == "" {
		id = s.ids.next(obj.KeyPrefix)
	}
	f["Id"] = id
	f["IsDeleted"] = false
	f["CreatedDate"], f["LastModifiedDate"], f["SystemModstamp"] = now, now, now
	f["CreatedById"], f["LastModifiedById"] = u.id, u.id
	if err := s.derive(obj, f, true); err != nil {
		return "", err
	}
	if err := s.checkRules(obj, f, ""); err != nil {
		return "", err
	}
	if key := map[string]string{"TaskRelation": "TaskId", "EventRelation": "EventId"}[obj.Name]; key != "" {
		// Relating someone to an activity edits the activity.
		if parent := s.records[fmt.Sprint(f[key])]; parent != nil && !s.canEdit(u, parent) {
			return "", errf("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", []string{}, "insufficient access rights on cross-reference id: %s", parent.id)
		}
		for _, rel := range s.relations(fmt.Sprint(f[key])) {
			if rel.str("RelationId") == f["RelationId"] {
				return "", errf("DUPLICATE_VALUE", []string{"RelationId"}, "duplicate value found: RelationId duplicates value on record with id: %s", rel.id)
			}
		}
	}
	if obj.Name == "ContentVersion" {
		if blob == nil {
			return "", errf("REQUIRED_FIELD_MISSING", []string{"VersionData"}, "Required fields are missing: [VersionData]")
		}
		f["ContentSize"] = float64(len(blob))
		f["FileExtension"] = strings.TrimPrefix(path.Ext(f["PathOnClient"].(string)), ".")
		if f["Title"] == nil {
			f["Title"] = strings.TrimSuffix(f["PathOnClient"].(string), path.Ext(f["PathOnClient"].(string)))
		}
	}
	if obj.Name == "Event" {
		if err := checkSeries(f); err != nil {
			return "", err
		}
	}
	r := &record{obj: obj, id: id, f: f}
	for _, tx := range s.txs {
		tx.created = append(tx.created, id)
	}
	s.records[id] = r
	s.byObj[obj.Name] = append(s.byObj[obj.Name], r)
	switch obj.Name {
	case "TaskRelation":
		s.rels[r.str("TaskId")] = append(s.rels[r.str("TaskId")], r)
	case "EventRelation":
		s.rels[r.str("EventId")] = append(s.rels[r.str("EventId")], r)
	}
	s.afterInsert(u, r, blob)
	switch obj.Name {
	case "Event":
		_ = s.expandSeries(u, r) // checked by checkSeries
	case "EventRelation":
		s.childCopy(u, r)
	}
	return id, nil
}

// afterInsert creates the rows Salesforce creates alongside a record: the
// relation rows for an activity's WhoId/WhatId, and a ContentDocument with its
// link for a new ContentVersion.
func (s *Server) afterInsert(u *account, r *record, blob []byte) {
	switch r.obj.Name {
	case "Task", "Event":
		rel := map[string]string{"Task": "TaskRelation", "Event": "EventRelation"}[r.obj.Name]
		key := map[string]string{"Task": "TaskId", "Event": "EventId"}[r.obj.Name]
		if who := r.str("WhoId"); who != "" {
			_, _ = s.insert(u, s.object(rel), map[string]any{key: r.id, "RelationId": who}, "")
		}
		if what := r.str("WhatId"); what != "" {
			_, _ = s.insert(u, s.object(rel), map[string]any{key: r.id, "RelationId": what, "IsWhat": true}, "")
		}
	case "ContentVersion":
		s.blobs[r.id] = blob
		docID, _ := s.insert(u, s.object("ContentDocument"), map[string]any{}, "")
		doc := s.records[docID]
		doc.f["Title"], doc.f["ContentSize"], doc.f["FileExtension"], doc.f["LatestPublishedVersionId"] = r.f["Title"], r.f["ContentSize"], r.f["FileExtension"], r.id
		r.f["ContentDocumentId"] = docID
		if loc := r.str("FirstPublishLocationId"); loc != "" {
			_, _ = s.insert(u, s.object("ContentDocumentLink"), map[string]any{"ContentDocumentId": docID, "LinkedEntityId": loc, "ShareType": "V"}, "")
		}
	}
}

func decodeBase64(raw any) ([]byte, error) {
	s, ok := raw.(string)
	if !ok {
		return nil, fmt.Errorf("not a string")
	}
	return base64.StdEncoding.DecodeString(s)
}

// update validates and applies a change; s.mu is held. mode "" is a plain
// update; errors name the failing field like the real API.
func (s *Server) update(u *account, id string, in map[string]any, _ string) error {
	r := s.records[id]
	if r == nil || !s.canSee(u, r) && !r.deleted {
		return errf("INVALID_CROSS_REFERENCE_KEY", nil, "invalid cross reference id")
	}
	if r.deleted {
		return errf("ENTITY_IS_DELETED", nil, "entity is deleted")
	}
	if !s.canEdit(u, r) {
		return errf("INSUFFICIENT_ACCESS_OR_READONLY", nil, "insufficient access rights on object id")
	}
	obj := r.obj
	next := make(map[string]any, len(r.f))
	for k, v := range r.f {
		next[k] = v
	}
	for name, raw := range in {
		if name == "attributes" || strings.EqualFold(name, "Id") {
			continue
		}
		fd := obj.field(name)
		if fd == nil {
			return errf("INVALID_FIELD", []string{name}, "No such column '%s' on sobject of type %s", name, obj.Name)
		}
		if fd.ReadOnly || fd.CreateOnly || fd.Type == typeBase64 {
			return errf("INVALID_FIELD_FOR_INSERT_UPDATE", []string{fd.Name}, "Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", fd.Name)
		}
		v, err := s.convert(obj, fd, raw)
		if err != nil {
			return err
		}
		next[fd.Name] = v
	}
	now := s.now()
	next["LastModifiedDate"], next["SystemModstamp"], next["LastModifiedById"] = now, now, u.id
	if err := s.derive(obj, next, false); err != nil {
		return err
	}
	if err := s.checkRules(obj, next, id); err != nil {
		return err
	}
	for _, tx := range s.txs {
		tx.snapshot(r)
	}
	r.f = next
	if obj.Name == "Event" {
		s.afterEventUpdate(u, r, in)
	}
	return nil
}

// remove moves a record to the recycle bin; s.mu is held.
func (s *Server) remove(u *account, id, _ string) error {
	r := s.records[id]
	if r == nil || !r.deleted && !s.canSee(u, r) {
		return errf("INVALID_CROSS_REFERENCE_KEY", nil, "invalid cross reference id")
	}
	if r.deleted {
		return errf("ENTITY_IS_DELETED", nil, "entity is deleted")
	}
	if !s.canEdit(u, r) {
		return errf("INSUFFICIENT_ACCESS_OR_READONLY", nil, "insufficient access rights on object id")
	}
	s.markDeleted(r)
	for _, rel := range s.relations(id) {
		s.markDeleted(rel)
	}
	s.removeDependents(r)
	return nil
}

func (s *Server) markDeleted(r *record) {
	for _, tx := range s.txs {
		tx.snapshot(r)
	}
	now := s.now()
	r.deleted = true
	r.deletedAt = now
	r.f["IsDeleted"] = true
	r.f["SystemModstamp"] = now
	s.deletes = append(s.deletes, deletion{obj: r.obj.Name, id: r.id, at: now})
}

// convert turns a JSON value into the stored form for fd.
func (s *Server) convert(obj *Object, fd *Field, raw any) (any, error) {
	if raw == nil {
		return nil, nil
	}
	bad := func(kind string) error {
		return errf("JSON_PARSER_ERROR", []string{fd.Name}, "Cannot deserialize instance of %s from %v value for field %s", kind, jsonKind(raw), fd.Name)
	}
	switch fd.Type {
	case typeString, typeTextArea, typeEmail, typePhone, typeURL, typePicklist, typeMulti, typeCombobox:
		v, ok := raw.(string)
		if !ok {
			return nil, bad("string")
		}
		if v == "" {
			return nil, nil
		}
		max := fd.Length
		if max == 0 {
			max = 255
			if fd.Type == typeTextArea {
				max = 32000
			}
		}
		if n := len([]rune(v)); n > max && fd.Type != typePicklist {
			return nil, errf("STRING_TOO_LONG", []string{fd.Name}, "%s: data value too large: %s (max length=%d)", fd.Name, truncate(v, 20), max)
		}
		if fd.Type == typeEmail {
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v || strings.ContainsAny(v, " \t\r\n") {
				return nil, errf("INVALID_EMAIL_ADDRESS", []string{fd.Name}, "%s: invalid email address: %s", fd.Name, truncate(v, 40))
			}
		}
		if fd.Type == typePicklist && fd.Restricted && !contains(fd.Picklist, v) {
			return nil, errf("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", []string{fd.Name}, "%s: bad value for restricted picklist field: %s", fd.Name, truncate(v, 40))
		}
		return v, nil
	case typeBoolean:
		v, ok := raw.(bool)
		if !ok {
			return nil, bad("boolean")
		}
		return v, nil
	case typeDate:
		v, ok := raw.(string)
		if !ok {
			return nil, bad("date")
		}
		if v == "" {
			return nil, nil
		}
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return nil, bad("date")
		}
		return v, nil
	case typeDateTime:
		v, ok := raw.(string)
		if !ok {
			return nil, bad("datetime")
		}
		if v == "" {
			return nil, nil
		}
		t, err := parseDateTime(v)
		if err != nil {
			return nil, bad("datetime")
		}
		return t, nil
	case typeDouble, typeCurrency, typePercent, typeInt:
		var n float64
		switch x := raw.(type) {
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, bad("double")
			}
			n = f
		case float64:
			n = x
		case int:
			n = float64(x)
		default:
			return nil, bad("double")
		}
		if fd.Type == typeInt && n != math.Trunc(n) {
			return nil, bad("int")
		}
		return n, nil
	case typeReference, typeID:
		v, ok := raw.(string)
		if !ok {
			return nil, bad("id")
		}
		if v == "" {
			return nil, nil
		}
		if len(v) != 15 && len(v) != 18 {
			return nil, errf("MALFORMED_ID", []string{fd.Name}, "%s: id value of incorrect type: %s", fd.Name, truncate(v, 20))
		}
		target := s.lookupID(v)
		if target == nil || target.deleted {
			return nil, errf("INVALID_CROSS_REFERENCE_KEY", []string{fd.Name}, "invalid cross reference id")
		}
		if len(fd.ReferenceTo) > 0 && !contains(fd.ReferenceTo, target.obj.Name) {
			return nil, errf("FIELD_INTEGRITY_EXCEPTION", []string{fd.Name}, "%s: id value of incorrect type: %s", fd.Name, v)
		}
		return target.id, nil
	}
	return nil, bad(fd.Type)
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case bool:
		return "VALUE_BOOLEAN"
	case json.Number, float64:
		return "VALUE_NUMBER"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return "VALUE"
}

// lookupID finds a record by 18- or 15-character id.
func (s *Server) lookupID(id string) *record {
	if r := s.records[id]; r != nil {
		return r
	}
	if len(id) == 15 {
		return s.records[id+caseSuffix(id)]
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// derive computes formula and system-maintained fields and checks the
// object's built-in rules (required fields, event times).
func (s *Server) derive(obj *Object, f map[string]any, create bool) error {
	var missing []string
	for i := range obj.Fields {
		fd := &obj.Fields[i]
		if fd.Required && f[fd.Name] == nil {
			missing = append(missing, fd.Name)
		}
	}
	if len(missing) > 0 {
		return errf("REQUIRED_FIELD_MISSING", missing, "Required fields are missing: [%s]", strings.Join(missing, ", "))
	}
	switch obj.Name {
	case "Contact", "Lead", "User":
		f["Name"] = strings.TrimSpace(fmt.Sprint(valueOr(f["FirstName"], "")) + " " + fmt.Sprint(valueOr(f["LastName"], "")))
	case "Task":
		f["IsClosed"] = f["Status"] == "Completed"
		f["AccountId"] = nil
		if what, _ := f["WhatId"].(string); strings.HasPrefix(what, "001") {
			f["AccountId"] = what
		} else if who := s.records[fmt.Sprint(valueOr(f["WhoId"], ""))]; who != nil && who.obj.Name == "Contact" {
			f["AccountId"] = who.f["AccountId"]
		}
	case "Case":
		f["IsClosed"] = f["Status"] == "Closed"
		if create {
			// Case numbers are an auto-number field: 00001000, 00001001, …
			f["CaseNumber"] = fmt.Sprintf("%08d", 1000+len(s.byObj["Case"]))
		}
	case "Event":
		return deriveEvent(f)
	}
	return nil
}

func valueOr(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

// deriveEvent keeps StartDateTime, EndDateTime, DurationInMinutes and the
// activity date consistent, as Salesforce does. All-day events store the
// first and last day at midnight GMT (the end is inclusive).
func deriveEvent(f map[string]any) error {
	allDay, _ := f["IsAllDayEvent"].(bool)
	start, hasStart := f["StartDateTime"].(time.Time)
	end, hasEnd := f["EndDateTime"].(time.Time)
	if allDay {
		if !hasStart {
			d, ok := f["ActivityDate"].(string)
			if !ok {
				return errf("REQUIRED_FIELD_MISSING", []string{"ActivityDate"}, "Required fields are missing: [ActivityDate]")
			}
			start, _ = time.Parse("2006-01-02", d)
			hasStart = true
		}
		start = start.Truncate(24 * time.Hour)
		if !hasEnd {
			end = start
		}
		end = end.Truncate(24 * time.Hour)
		f["StartDateTime"], f["EndDateTime"] = start, end
		f["DurationInMinutes"] = float64(end.Sub(start)/time.Minute + 1440)
		f["ActivityDate"] = start.Format("2006-01-02")
		f["EndDate"] = end.Format("2006-01-02")
		f["ActivityDateTime"] = nil
		if end.Before(start) {
			return errf("FIELD_INTEGRITY_EXCEPTION", []string{"EndDateTime"}, "End Date Time: end must not be before start")
		}
		return nil
	}
	if !hasStart {
		return errf("REQUIRED_FIELD_MISSING", []string{"StartDateTime"}, "Required fields are missing: [StartDateTime]")
	}
	if !hasEnd {
		d, ok := f["DurationInMinutes"].(float64)
		if !ok {
			return errf("REQUIRED_FIELD_MISSING", []string{"DurationInMinutes"}, "Required fields are missing: [DurationInMinutes]")
		}
		end = start.Add(time.Duration(d) * time.Minute)
	}
	if end.Before(start) {
		return errf("FIELD_INTEGRITY_EXCEPTION", []string{"EndDateTime"}, "End Date Time: end must not be before start")
	}
	if end.Sub(start) > 14*24*time.Hour {
		return errf("FIELD_INTEGRITY_EXCEPTION", []string{"EndDateTime"}, "Event duration cannot exceed 14 days")
	}
	f["EndDateTime"] = end
	f["DurationInMinutes"] = float64(end.Sub(start) / time.Minute)
	f["ActivityDateTime"] = start
	f["ActivityDate"] = start.Format("2006-01-02")
	f["EndDate"] = end.UTC().Format("2006-01-02")
	return nil
}

// checkRules applies duplicate and validation rules; selfID is the record
// being updated ("" on create).
func (s *Server) checkRules(obj *Object, f map[string]any, selfID string) error {
	for _, v := range s.rules {
		if strings.EqualFold(v.Object, obj.Name) && v.Reject(f) {
			return errf("FIELD_CUSTOM_VALIDATION_EXCEPTION", []string{v.Field}, "%s", v.Message)
		}
	}
	for _, d := range s.dupes {
		if !strings.EqualFold(d.Object, obj.Name) {
			continue
		}
		v, _ := f[d.Field].(string)
		if v == "" {
			continue
		}
		for _, r := range s.byObj[obj.Name] {
			if !r.deleted && r.id != selfID && strings.EqualFold(r.str(d.Field), v) {
				diffs := []fieldDiff{{Name: d.Field, Difference: "SAME"}}
				for _, name := range d.Compared {
					diffs = append(diffs, fieldDiff{Name: name, Difference: difference(f[name], r.f[name])})
				}
				return dupError{recordError: errf("DUPLICATES_DETECTED", nil, "You're creating a duplicate record. We recommend you use an existing record instead."),
					rule: d.Name, object: obj.Name, match: r.id, diffs: diffs}
			}
		}
	}
	return nil
}

type fieldDiff struct {
	Name       string `json:"name"`
	Difference string `json:"difference"`
}

// difference compares one field of a new record with a matching one, as a
// matching rule reports it.
func difference(a, b any) string {
	as, bs := fmt.Sprint(valueOr(a, "")), fmt.Sprint(valueOr(b, ""))
	switch {
	case as == "" && bs == "":
		return "NULL"
	case strings.EqualFold(as, bs):
		return "SAME"
	}
	return "DIFFERENT"
}

// dupError carries the duplicateResult Salesforce adds to DUPLICATES_DETECTED
// (its documented DuplicateResult: one MatchResult for the rule with the
// matching record and its fieldDiffs). "fields" stays empty, as in the real
// answer.
type dupError struct {
	recordError
	rule, object, match string
	diffs               []fieldDiff
}

func (e dupError) duplicateResult() map[string]any {
	return map[string]any{
		"allowSave": false, "duplicateRule": e.rule, "duplicateRuleEntityType": e.object,
		"errorMessage": e.Message, "matchResults": []any{map[string]any{
			"entityType": e.object, "errors": []any{}, "matchEngine": "ExactMatchEngine", "rule": e.rule, "size": 1, "success": true,
			"matchRecords": []any{map[string]any{
				"additionalInformation": []any{}, "fieldDiffs": e.diffs, "matchConfidence": 100.0,
				"record": map[string]any{"attributes": map[string]string{"type": e.object}, "Id": e.match},
			}},
		}},
	}
}

func (e dupError) MarshalJSON() ([]byte, error) {
	type plain recordError
	b, _ := json.Marshal(plain(e.recordError))
	extra, _ := json.Marshal(map[string]any{"duplicateResult": e.duplicateResult()})
	return append(append(b[:len(b)-1], ','), extra[1:]...), nil
}

// ordered is a JSON object that keeps its keys in insertion order, as
// Salesforce writes records in SELECT order with "attributes" first.
type ordered struct {
	keys []string
	vals map[string]any
}

func newOrdered() *ordered { return &ordered{vals: map[string]any{}} }

func (o *ordered) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// wireValue renders a stored value as Salesforce writes it.
func wireValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return formatDateTime(x)
	}
	return v
}

func formatDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date-time %q", s)
}

// attributes is the "attributes" member of a record.
func (c *reqCtx) attributes(r *record) map[string]string {
	return map[string]string{"type": r.obj.Name, "url": c.dataPath() + "/sobjects/" + r.obj.Name + "/" + r.id}
}

// render writes a whole record (all fields, as GET /sobjects/T/id does).
func (c *reqCtx) render(r *record, only []string) *ordered {
	o := newOrdered()
	o.set("attributes", c.attributes(r))
	if len(only) > 0 {
		for _, name := range only {
			if fd := r.obj.field(name); fd != nil && fd.Type != typeBase64 {
				o.set(fd.Name, wireValue(r.f[fd.Name]))
			}
		}
		return o
	}
	for _, fd := range r.obj.Fields {
		if fd.Type == typeBase64 {
			if r.obj.Name == "ContentVersion" {
				o.set(fd.Name, c.dataPath()+"/sobjects/ContentVersion/"+r.id+"/VersionData")
			}
			continue
		}
		o.set(fd.Name, wireValue(r.f[fd.Name]))
	}
	return o
}
