package fakesalesforce

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Field types, as describe reports them.
const (
	typeID        = "id"
	typeReference = "reference"
	typeString    = "string"
	typeTextArea  = "textarea"
	typeEmail     = "email"
	typePhone     = "phone"
	typeURL       = "url"
	typePicklist  = "picklist"
	typeMulti     = "multipicklist"
	typeBoolean   = "boolean"
	typeDate      = "date"
	typeDateTime  = "datetime"
	typeDouble    = "double"
	typeCurrency  = "currency"
	typePercent   = "percent"
	typeInt       = "int"
	typeBase64    = "base64"
)

// Field declares one field of an object, in the custom-object JSON schema and
// internally for standard objects.
type Field struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Label string `json:"label,omitempty"`
	// ReferenceTo lists the objects a reference field may point to.
	ReferenceTo []string `json:"referenceTo,omitempty"`
	// RelationshipName is the name used in parent paths ("Account" for AccountId).
	RelationshipName string `json:"relationshipName,omitempty"`
	// Required fields must be set on create (nillable=false, not defaulted).
	Required bool `json:"required,omitempty"`
	// ReadOnly fields are neither createable nor updateable (system and formula fields).
	ReadOnly bool `json:"readOnly,omitempty"`
	// CreateOnly fields can be set on create but never updated (TaskSubtype).
	CreateOnly bool `json:"createOnly,omitempty"`
	// Picklist holds the allowed values; Restricted rejects others.
	Picklist   []string `json:"picklist,omitempty"`
	Restricted bool     `json:"restricted,omitempty"`
	// Default is set on create when the field is absent.
	Default any `json:"default,omitempty"`
	// Length bounds text fields (0 = type default).
	Length int `json:"length,omitempty"`
	// Unique fields reject a second record with the same value (DUPLICATE_VALUE).
	Unique bool `json:"unique,omitempty"`
	// NotNull fields are never null (nillable false) but need not be given
	// on create: Salesforce defaults or maintains them (OwnerId, system
	// fields, checkboxes).
	NotNull bool `json:"notNull,omitempty"`
	// Controller makes a picklist dependent: it names the controlling
	// field (a picklist or a checkbox of the same object), and ValidFor
	// maps each dependent value to the controlling values it is offered
	// for ("true"/"false" for a checkbox). The describe gives them as
	// dependentPicklist, controllerName and each value's validFor bit set.
	Controller string              `json:"controllerName,omitempty"`
	ValidFor   map[string][]string `json:"validFor,omitempty"`
	// AutoNumber fields are numbered by Salesforce on create (Case.CaseNumber).
	AutoNumber bool `json:"-"`
	custom     bool
}

// Object declares an sObject type.
type Object struct {
	Name        string  `json:"name"`
	Label       string  `json:"label,omitempty"`
	LabelPlural string  `json:"labelPlural,omitempty"`
	KeyPrefix   string  `json:"keyPrefix,omitempty"`
	Fields      []Field `json:"fields"`
	// Owned objects have an OwnerId and follow owner-based visibility.
	Owned  bool `json:"owned,omitempty"`
	custom bool
	// full objects declare their own system fields (describes.go).
	full   bool
	byName map[string]*Field
}

// Schema is the JSON document that declares custom objects (and custom fields
// on standard objects): {"objects":[{"name":"Project__c","owned":true,
// "fields":[{"name":"Budget__c","type":"currency"}]}]}.
type Schema struct {
	Objects []Object `json:"objects"`
}

func (o *Object) field(name string) *Field { return o.byName[strings.ToLower(name)] }

func (o *Object) index() {
	o.byName = make(map[string]*Field, len(o.Fields))
	for i := range o.Fields {
		f := &o.Fields[i]
		o.byName[strings.ToLower(f.Name)] = f
	}
}

func (o *Object) relationship(name string) *Field {
	for i := range o.Fields {
		f := &o.Fields[i]
		if f.RelationshipName != "" && strings.EqualFold(f.RelationshipName, name) {
			return f
		}
	}
	return nil
}

func systemFields(owned bool) []Field {
	fs := []Field{
		{Name: "Id", Type: typeID, Label: "Record ID", ReadOnly: true, NotNull: true},
		{Name: "IsDeleted", Type: typeBoolean, Label: "Deleted", ReadOnly: true, NotNull: true},
		{Name: "CreatedDate", Type: typeDateTime, Label: "Created Date", ReadOnly: true, NotNull: true},
		{Name: "CreatedById", Type: typeReference, Label: "Created By ID", ReferenceTo: []string{"User"}, RelationshipName: "CreatedBy", ReadOnly: true, NotNull: true},
		{Name: "LastModifiedDate", Type: typeDateTime, Label: "Last Modified Date", ReadOnly: true, NotNull: true},
		{Name: "LastModifiedById", Type: typeReference, Label: "Last Modified By ID", ReferenceTo: []string{"User"}, RelationshipName: "LastModifiedBy", ReadOnly: true, NotNull: true},
		{Name: "SystemModstamp", Type: typeDateTime, Label: "System Modstamp", ReadOnly: true, NotNull: true},
	}
	if owned {
		fs = append(fs, Field{Name: "OwnerId", Type: typeReference, Label: "Owner ID", ReferenceTo: []string{"User"}, RelationshipName: "Owner", NotNull: true})
	}
	return fs
}

func standardObjects() []Object {
	objs := []Object{userObject(), accountObject(), contactObject(), leadObject(), opportunityObject(), caseObject(), taskObject(), eventObject(),
		{Name: "TaskRelation", KeyPrefix: "0RT", Fields: []Field{
			{Name: "TaskId", Type: typeReference, ReferenceTo: []string{"Task"}, RelationshipName: "Task", Required: true, CreateOnly: true},
			{Name: "RelationId", Type: typeReference, ReferenceTo: []string{"Contact", "Lead", "Account", "Opportunity", "Case", "User"}, RelationshipName: "Relation", Required: true, CreateOnly: true},
			{Name: "IsWhat", Type: typeBoolean, Default: false, CreateOnly: true},
		}},
		{Name: "EventRelation", KeyPrefix: "0RE", Fields: []Field{
			{Name: "EventId", Type: typeReference, ReferenceTo: []string{"Event"}, RelationshipName: "Event", Required: true, CreateOnly: true},
			{Name: "RelationId", Type: typeReference, ReferenceTo: []string{"Contact", "Lead", "Account", "Opportunity", "Case", "User"}, RelationshipName: "Relation", Required: true, CreateOnly: true},
			{Name: "IsInvitee", Type: typeBoolean, Default: true}, {Name: "IsParent", Type: typeBoolean, Default: false},
			{Name: "IsWhat", Type: typeBoolean, Default: false, CreateOnly: true},
			{Name: "Status", Type: typePicklist, Default: "New", Picklist: []string{"New", "Accepted", "Declined"}},
			{Name: "Response", Type: typeString, Length: 255}, {Name: "RespondedDate", Type: typeDateTime},
		}},
		{Name: "ContentVersion", KeyPrefix: "068", Owned: true, Fields: []Field{
			{Name: "Title", Type: typeString, Length: 255}, {Name: "PathOnClient", Type: typeString, Required: true, Length: 500, CreateOnly: true},
			{Name: "VersionData", Type: typeBase64, CreateOnly: true},
			{Name: "ContentDocumentId", Type: typeReference, ReferenceTo: []string{"ContentDocument"}, RelationshipName: "ContentDocument", CreateOnly: true},
			{Name: "FirstPublishLocationId", Type: typeReference, CreateOnly: true},
			{Name: "ContentSize", Type: typeInt, ReadOnly: true}, {Name: "FileExtension", Type: typeString, ReadOnly: true, Length: 40},
		}},
		{Name: "ContentDocument", KeyPrefix: "069", Owned: true, Fields: []Field{
			{Name: "Title", Type: typeString, Length: 255}, {Name: "LatestPublishedVersionId", Type: typeReference, ReferenceTo: []string{"ContentVersion"}, ReadOnly: true, NotNull: true},
			{Name: "ContentSize", Type: typeInt, ReadOnly: true}, {Name: "FileExtension", Type: typeString, ReadOnly: true, Length: 40},
		}},
		{Name: "ContentDocumentLink", KeyPrefix: "06A", Fields: []Field{
			{Name: "ContentDocumentId", Type: typeReference, ReferenceTo: []string{"ContentDocument"}, RelationshipName: "ContentDocument", Required: true, CreateOnly: true},
			{Name: "LinkedEntityId", Type: typeReference, Required: true, CreateOnly: true},
			{Name: "ShareType", Type: typePicklist, Default: "V", Picklist: []string{"V", "C", "I"}},
			{Name: "Visibility", Type: typePicklist, Default: "AllUsers", Picklist: []string{"AllUsers", "InternalUsers", "SharedUsers"}},
		}},
		{Name: "FeedItem", KeyPrefix: "0D5", Fields: []Field{
			{Name: "ParentId", Type: typeReference, Required: true, CreateOnly: true}, {Name: "Body", Type: typeTextArea, Length: 10000},
			{Name: "Type", Type: typeString, Default: "TextPost", ReadOnly: true, NotNull: true},
		}},
	}
	objs = append(objs, permissionObjects()...)
	for i := range objs {
		if !objs[i].full {
			objs[i].Fields = append(systemFields(objs[i].Owned), objs[i].Fields...)
		}
	}
	return objs
}

// loadSchema builds the object table from the standard objects plus the
// custom declarations. A declaration of an existing object adds fields to it.
func loadSchema(custom []byte) (map[string]*Object, error) {
	objs := map[string]*Object{}
	for _, o := range standardObjects() {
		o := o
		objs[strings.ToLower(o.Name)] = &o
	}
	if len(custom) > 0 {
		var s Schema
		dec := json.NewDecoder(strings.NewReader(string(custom)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("fakesalesforce: custom schema: %w", err)
		}
		n := 0
		for _, c := range s.Objects {
			if c.Name == "" {
				return nil, fmt.Errorf("fakesalesforce: custom schema: an object has no name")
			}
			for i := range c.Fields {
				f := &c.Fields[i]
				if f.Name == "" || f.Type == "" {
					return nil, fmt.Errorf("fakesalesforce: custom schema: object %s: a field needs name and type", c.Name)
				}
				f.custom = strings.HasSuffix(f.Name, "__c")
				if f.Type == typeReference && f.RelationshipName == "" && strings.HasSuffix(f.Name, "__c") {
					f.RelationshipName = strings.TrimSuffix(f.Name, "__c") + "__r"
				}
			}
			if existing, ok := objs[strings.ToLower(c.Name)]; ok {
				existing.Fields = append(existing.Fields, c.Fields...)
				continue
			}
			o := c
			o.custom = true
			if o.KeyPrefix == "" {
				n++
				o.KeyPrefix = fmt.Sprintf("a%02d", n)
			}
			if o.Label == "" {
				o.Label = strings.TrimSuffix(o.Name, "__c")
			}
			o.Fields = append(systemFields(o.Owned), o.Fields...)
			if o.field("Name") == nil {
				o.Fields = append(o.Fields, Field{Name: "Name", Type: typeString, Length: 80})
			}
			objs[strings.ToLower(o.Name)] = &o
		}
	}
	for _, o := range objs {
		if err := o.checkDependencies(); err != nil {
			return nil, err
		}
		if o.Label == "" {
			o.Label = o.Name
		}
		if o.LabelPlural == "" {
			o.LabelPlural = o.Label + "s"
		}
		o.index()
	}
	return objs, nil
}

func sortedObjects(objs map[string]*Object) []*Object {
	out := make([]*Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
