package c4c

import (
	"net/http"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
)

// Notes of tasks and appointments. C4C keeps an activity's texts in a text
// collection, a child entity set of the activity (c4codataapi $metadata:
// navigation TasksTextCollection to TasksTextCollectionCollection,
// AppointmentTextCollection to AppointmentTextCollectionCollection; each
// entry has Text, TypeCode, LanguageCode). item.Description is the entry of
// type NoteTypeCode: read with $expand, created by deep insert with the
// activity, then changed by PATCH, added by POST with ParentObjectID, or
// deleted, on the text entity set itself (OData v2 has no deep update).

// NoteTypeCode is the text type of the note crmsync keeps an activity's
// description in: "10002", the body text of an appointment in public C4C
// clients (unverified for tasks, which use the same text type list).
const NoteTypeCode = "10002"

// textNavs are the text collection navigations of the kinds with notes, and
// textSets the entity sets their entries are written through.
var (
	textNavs = map[item.Kind]string{item.Task: "TasksTextCollection", item.Event: "AppointmentTextCollection"}
	textSets = map[item.Kind]string{item.Task: "TasksTextCollectionCollection", item.Event: "AppointmentTextCollectionCollection"}
)

// expandOf is the $expand a read of kind needs ("" for none).
func expandOf(kind item.Kind) string {
	switch kind {
	case item.Task:
		return textNavs[item.Task]
	case item.Event:
		return textNavs[item.Event] + "," + partiesNav
	}
	return ""
}

// children returns the expanded entries of nav in e ({"results": [...]} in
// OData v2 JSON; a bare list is accepted too).
func children(e Entity, nav string) []Entity {
	var list []any
	switch v := e[nav].(type) {
	case map[string]any:
		list, _ = v["results"].([]any)
	case []any:
		list = v
	}
	out := make([]Entity, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, Entity(m))
		}
	}
	return out
}

// note returns the entry holding kind's description in e, if any: the
// first of type NoteTypeCode.
func note(kind item.Kind, e Entity) (Entity, bool) {
	for _, t := range children(e, textNavs[kind]) {
		if t.String("TypeCode") == NoteTypeCode {
			return t, true
		}
	}
	return nil, false
}

// readNote sets rec's Description from e's expanded text collection. An
// entity read without the expansion (a $select read) leaves it unset.
func readNote(kind item.Kind, e Entity, rec *item.Record) {
	if _, ok := textNavs[kind]; !ok {
		return
	}
	if _, expanded := e[textNavs[kind]]; !expanded {
		return
	}
	n, _ := note(kind, e)
	rec.Fields[item.Description] = strings.ReplaceAll(n.String("Text"), "\r\n", "\n")
}

// insertNote adds the description of rec to a create body as a deep-inserted
// text entry.
func insertNote(kind item.Kind, rec item.Record, body map[string]any) {
	if d := rec.Fields[item.Description]; d != "" && textNavs[kind] != "" {
		body[textNavs[kind]] = []map[string]any{{"Text": d, "TypeCode": NoteTypeCode}}
	}
}

// noteOp is the write that makes cur's description (cur read with its text
// collection expanded) say rec's, or false when there is nothing to write.
func noteOp(kind item.Kind, cur Entity, rec item.Record) (Op, bool) {
	want, ok := rec.Fields[item.Description]
	if !ok || textNavs[kind] == "" {
		return Op{}, false
	}
	n, has := note(kind, cur)
	switch {
	case has && want == "":
		return Op{Method: http.MethodDelete, Path: textSets[kind] + "('" + n.ID() + "')", IfMatch: "*"}, true
	case has && n.String("Text") != want:
		return Op{Method: http.MethodPatch, Path: textSets[kind] + "('" + n.ID() + "')", IfMatch: n.ETag(), Body: map[string]any{"Text": want}}, true
	case !has && want != "":
		return Op{Method: http.MethodPost, Path: textSets[kind], Body: map[string]any{"ParentObjectID": cur.ID(), "Text": want, "TypeCode": NoteTypeCode}}, true
	}
	return Op{}, false
}
