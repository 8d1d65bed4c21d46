package fakesalesforce

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// maxJSONBody is the largest JSON body accepted (as the real 50 MB limit).
const maxJSONBody = 50 << 20

// decodeBody reads a JSON body, keeping numbers exact. A malformed body is a
// whole-request 400 JSON_PARSER_ERROR, as in the real API.
func decodeBody(c *reqCtx, v any) bool {
	dec := json.NewDecoder(io.LimitReader(c.r.Body, maxJSONBody))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeErrors(c.w, http.StatusBadRequest, apiError{"Unexpected character or end of input in JSON body: " + truncate(err.Error(), 80), "JSON_PARSER_ERROR", nil})
		return false
	}
	return true
}

// recordErr splits an error from insert/update/remove into its JSON form.
func recordErr(err error) (any, recordError) {
	var d dupError
	if errors.As(err, &d) {
		return d, d.recordError
	}
	var re recordError
	if errors.As(err, &re) {
		return re, re
	}
	re = errf("UNKNOWN_EXCEPTION", nil, "An unexpected error occurred.")
	return re, re
}

// writeOneError answers a single-record write's failure; a duplicate rule's
// error keeps its duplicateResult, as in the real answer.
func (s *Server) writeOneError(c *reqCtx, err error) {
	var d dupError
	if errors.As(err, &d) {
		writeJSON(c.w, http.StatusBadRequest, []any{map[string]any{"message": d.Message, "errorCode": d.StatusCode,
			"fields": d.Fields, "duplicateResult": d.duplicateResult()}})
		return
	}
	_, re := recordErr(err)
	writeRecordError(c.w, re)
}

func (s *Server) createOne(c *reqCtx, obj *Object) {
	var body map[string]any
	if mt, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/") {
		var ok bool
		if body, ok = s.multipartBody(c, params["boundary"]); !ok {
			return
		}
	} else if !decodeBody(c, &body) {
		return
	}
	s.mu.Lock()
	id, err := s.insert(c.user, obj, body, "")
	s.mu.Unlock()
	if err != nil {
		s.writeOneError(c, err)
		return
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
}

// multipartBody reads the multipart form Salesforce accepts for blobs: a JSON
// part (entity_content / entity_document) and a binary part named after the
// blob field (VersionData).
func (s *Server) multipartBody(c *reqCtx, boundary string) (map[string]any, bool) {
	mr := multipart.NewReader(c.r.Body, boundary)
	var body map[string]any
	var blob []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeErrors(c.w, http.StatusBadRequest, apiError{"Multipart message must include a non-binary part", "INVALID_MULTIPART_REQUEST", nil})
			return nil, false
		}
		switch p.FormName() {
		case "entity_content", "entity_document":
			dec := json.NewDecoder(p)
			dec.UseNumber()
			if err := dec.Decode(&body); err != nil {
				writeErrors(c.w, http.StatusBadRequest, apiError{"Unexpected character in JSON part", "JSON_PARSER_ERROR", nil})
				return nil, false
			}
		default:
			b, err := io.ReadAll(io.LimitReader(p, 2<<30))
			if err != nil {
				writeErrors(c.w, http.StatusBadRequest, apiError{"Could not read binary part", "INVALID_MULTIPART_REQUEST", nil})
				return nil, false
			}
			blob = b
		}
	}
	if body == nil {
		writeErrors(c.w, http.StatusBadRequest, apiError{"Multipart message must include a non-binary part", "INVALID_MULTIPART_REQUEST", nil})
		return nil, false
	}
	if blob != nil {
		body["VersionData"] = base64.StdEncoding.EncodeToString(blob)
	}
	return body, true
}

func (s *Server) getOne(c *reqCtx, obj *Object, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookupID(id)
	if r == nil || r.deleted || r.obj != obj || !s.canSee(c.user, r) {
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	var only []string
	if f := c.r.URL.Query().Get("fields"); f != "" {
		for _, name := range strings.Split(f, ",") {
			name = strings.TrimSpace(name)
			if obj.field(name) == nil {
				writeErrors(c.w, http.StatusBadRequest, apiError{fmt.Sprintf("No such column '%s' on sobject of type %s", name, obj.Name), "INVALID_FIELD", nil})
				return
			}
			only = append(only, name)
		}
	}
	writeJSON(c.w, http.StatusOK, c.render(r, only))
}

func (s *Server) updateOne(c *reqCtx, obj *Object, id string) {
	var body map[string]any
	if !decodeBody(c, &body) {
		return
	}
	s.mu.Lock()
	r := s.lookupID(id)
	var err error
	if r == nil || r.obj != obj {
		err = errf("NOT_FOUND", nil, "The requested resource does not exist")
	} else {
		err = s.update(c.user, r.id, body, "")
	}
	s.mu.Unlock()
	if err != nil {
		s.writeOneError(c, err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteOne(c *reqCtx, obj *Object, id string) {
	s.mu.Lock()
	r := s.lookupID(id)
	var err error
	if r == nil || r.obj != obj {
		err = errf("NOT_FOUND", nil, "The requested resource does not exist")
	} else {
		err = s.remove(c.user, r.id, "")
	}
	s.mu.Unlock()
	if err != nil {
		s.writeOneError(c, err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) versionData(c *reqCtx, obj *Object, id string) {
	s.mu.Lock()
	r := s.lookupID(id)
	ok := r != nil && !r.deleted && r.obj == obj && obj.Name == "ContentVersion" && s.canSee(c.user, r)
	var blob []byte
	if ok {
		blob = s.blobs[r.id]
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	c.w.Header().Set("Content-Type", "application/octetstream")
	_, _ = io.Copy(c.w, bytes.NewReader(blob))
}

// describeStamp is when the schema last changed; describe answers 304 to an
// If-Modified-Since at or after it.
var describeStamp = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *Server) notModified(c *reqCtx) bool {
	if ims := c.r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !t.Before(describeStamp) {
			c.w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	c.w.Header().Set("Last-Modified", describeStamp.Format(http.TimeFormat))
	return false
}

func (c *reqCtx) globalEntry(o *Object) map[string]any {
	base := c.dataPath() + "/sobjects/" + o.Name
	readOnly := o.Name == "User"
	return map[string]any{
		"name": o.Name, "label": o.Label, "labelPlural": o.LabelPlural, "keyPrefix": o.KeyPrefix, "custom": o.custom,
		"layoutable": true, "activateable": false, "updateable": !readOnly, "createable": !readOnly, "deletable": !readOnly,
		"searchable": true, "customSetting": false, "deprecatedAndHidden": false, "feedEnabled": o.Owned,
		"mergeable": false, "queryable": true, "replicateable": true, "retrieveable": true, "undeletable": o.Owned, "triggerable": true,
		"urls": map[string]string{"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
	}
}

func (s *Server) describeGlobal(c *reqCtx) {
	if s.notModified(c) {
		return
	}
	var list []map[string]any
	for _, o := range sortedObjects(s.objects) {
		list = append(list, c.globalEntry(o))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
}

func (s *Server) objectInfo(c *reqCtx, obj *Object) {
	writeJSON(c.w, http.StatusOK, map[string]any{"objectDescribe": c.globalEntry(obj), "recentItems": []any{}})
}

func (s *Server) describe(c *reqCtx, obj *Object) {
	if s.notModified(c) {
		return
	}
	out := c.globalEntry(obj)
	ui := c.base + "/"
	out["urls"] = map[string]string{"sobject": c.dataPath() + "/sobjects/" + obj.Name, "describe": c.dataPath() + "/sobjects/" + obj.Name + "/describe",
		"rowTemplate": c.dataPath() + "/sobjects/" + obj.Name + "/{ID}", "uiNewRecord": ui + obj.KeyPrefix + "/e",
		"uiEditTemplate": ui + "{ID}/e", "uiDetailTemplate": ui + "{ID}"}
	fields := make([]map[string]any, 0, len(obj.Fields))
	for _, f := range obj.Fields {
		length := f.Length
		if length == 0 && (f.Type == typeID || f.Type == typeReference) {
			length = 18
		}
		picklist := []map[string]any{}
		var controller any
		ctl := obj.field(f.Controller)
		if ctl != nil {
			controller = ctl.Name
		}
		for _, v := range f.Picklist {
			var validFor any
			if ctl != nil {
				validFor = validForBits(ctl, f.ValidFor[v])
			}
			picklist = append(picklist, map[string]any{"value": v, "label": v, "active": true, "defaultValue": f.Default == v, "validFor": validFor})
		}
		ref := f.ReferenceTo
		if ref == nil {
			ref = []string{}
		}
		var rel any
		if f.RelationshipName != "" {
			rel = f.RelationshipName
		}
		fields = append(fields, map[string]any{
			"name": f.Name, "type": f.Type, "label": f.Label, "length": length, "byteLength": length * 3,
			"createable": !f.ReadOnly && f.Name != "Id", "updateable": !f.ReadOnly && !f.CreateOnly && f.Name != "Id",
			"nillable": !f.Required && !f.NotNull && f.Type != typeBoolean && f.Name != "Id", "custom": f.custom, "calculated": f.ReadOnly && f.Name == "Name",
			"defaultedOnCreate": f.Default != nil || f.ReadOnly || f.NotNull && !f.Required, "defaultValue": defaultValue(f), "filterable": f.Type != typeTextArea && f.Type != typeBase64,
			"sortable": f.Type != typeTextArea && f.Type != typeBase64, "groupable": f.Type != typeTextArea, "unique": f.Unique,
			"idLookup": f.Name == "Id" || f.Type == typeEmail, "externalId": false, "picklistValues": picklist,
			"restrictedPicklist": f.Restricted, "referenceTo": ref, "relationshipName": rel, "polymorphicForeignKey": len(f.ReferenceTo) > 1,
			"soapType": soapType(f.Type), "htmlFormatted": false, "dependentPicklist": ctl != nil, "deprecatedAndHidden": false,
			"caseSensitive": false, "nameField": f.Name == "Name" || f.AutoNumber && obj.field("Name") == nil, "autoNumber": f.AutoNumber, "precision": 0, "scale": 0, "digits": 0,
			"inlineHelpText": nil, "controllerName": controller, "calculatedFormula": nil, "defaultValueFormula": nil,
			"writeRequiresMasterRead": false, "namePointing": len(f.ReferenceTo) > 1, "relationshipOrder": nil,
		})
	}
	out["fields"] = fields
	out["childRelationships"] = []any{}
	out["recordTypeInfos"] = []any{}
	out["listviewable"] = nil
	out["lookupLayoutable"] = nil
	out["searchLayoutable"] = true
	writeJSON(c.w, http.StatusOK, out)
}

// defaultValue is a field's describe defaultValue: a checkbox's default;
// a picklist's default is flagged on its value (defaultValue true) instead.
func defaultValue(f Field) any {
	if f.Type == typeBoolean {
		return f.Default
	}
	return nil
}

func soapType(t string) string {
	switch t {
	case typeID, typeReference:
		return "tns:ID"
	case typeBoolean:
		return "xsd:boolean"
	case typeDate:
		return "xsd:date"
	case typeDateTime:
		return "xsd:dateTime"
	case typeDouble, typeCurrency, typePercent:
		return "xsd:double"
	case typeInt:
		return "xsd:int"
	case typeBase64:
		return "xsd:base64Binary"
	}
	return "xsd:string"
}

// replicationWindow reads start/end, truncated to the minute as Salesforce
// does, and enforces the 30-day and one-minute rules.
func (s *Server) replicationWindow(c *reqCtx) (start, end time.Time, ok bool) {
	q := c.r.URL.Query()
	bad := func(msg string) (time.Time, time.Time, bool) {
		writeErrors(c.w, http.StatusBadRequest, apiError{msg, "INVALID_REPLICATION_DATE", nil})
		return time.Time{}, time.Time{}, false
	}
	st, err1 := parseDateTime(q.Get("start"))
	en, err2 := parseDateTime(q.Get("end"))
	if err1 != nil || err2 != nil {
		return bad("start and end must be ISO 8601 date-times")
	}
	now := s.now()
	start, end = st.Truncate(time.Minute), en.Truncate(time.Minute)
	if end.After(now) {
		end = now.Truncate(time.Minute)
	}
	if start.Before(now.Add(-30 * 24 * time.Hour)) {
		return bad("startDate cannot be more than 30 days ago")
	}
	if !start.Add(time.Minute).Before(end) && !start.Add(time.Minute).Equal(end) {
		return bad("startDate must chronologically precede endDate by more than one minute")
	}
	return start, end, true
}

const replicationIDLimit = 600000

func (s *Server) updated(c *reqCtx, obj *Object) {
	start, end, ok := s.replicationWindow(c)
	if !ok {
		return
	}
	s.mu.Lock()
	ids := []string{}
	for _, r := range s.byObj[obj.Name] {
		ms, _ := r.f["SystemModstamp"].(time.Time)
		if !r.deleted && !ms.Before(start) && ms.Before(end) && s.canSee(c.user, r) {
			ids = append(ids, r.id)
		}
	}
	s.mu.Unlock()
	if len(ids) > replicationIDLimit {
		writeErrors(c.w, http.StatusBadRequest, apiError{"Exceeded id limit; narrow the window", "EXCEEDED_ID_LIMIT", nil})
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"ids": ids, "latestDateCovered": formatDateTime(end)})
}

func (s *Server) deleted(c *reqCtx, obj *Object) {
	start, end, ok := s.replicationWindow(c)
	if !ok {
		return
	}
	s.mu.Lock()
	earliest := s.now().Add(-15 * 24 * time.Hour).Truncate(time.Minute)
	if s.earliestDeleted.After(earliest) {
		earliest = s.earliestDeleted
	}
	recs := []map[string]string{}
	for _, d := range s.deletes {
		if d.obj != obj.Name || d.at.Before(start) || !d.at.Before(end) || d.at.Before(earliest) {
			continue
		}
		if r := s.records[d.id]; r != nil && !s.canSee(c.user, r) {
			continue
		}
		recs = append(recs, map[string]string{"id": d.id, "deletedDate": formatDateTime(d.at)})
	}
	s.mu.Unlock()
	if len(recs) > replicationIDLimit {
		writeErrors(c.w, http.StatusBadRequest, apiError{"Exceeded id limit; narrow the window", "EXCEEDED_ID_LIMIT", nil})
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"deletedRecords": recs, "earliestDateAvailable": formatDateTime(earliest), "latestDateCovered": formatDateTime(end)})
}
