package fakec4c

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
)

// Code is one entry of a C4C code list: the code and its description in
// the user's logon language (code list entity sets have exactly these two
// properties; contextual ones add Context, which the local C4C does not
// serve).
type Code struct {
	Code, Description string
}

// valueHelp names, per entity set and property, the code list entity set
// that holds the property's valid codes: the `c4c:value-help` annotation of
// the property in $metadata. Names follow c4codataapi's pattern
// <EntityType><Property>Collection (TasksStatusCollection,
// TasksPriorityCodeCollection, AppointmentLifeCycleStatusCodeCollection,
// AppointmentInvolvedPartiesRoleCodeCollection,
// ServiceRequestServiceRequestLifeCycleStatusCodeCollection).
var valueHelp = map[string]map[string]string{
	"TasksCollection":                      {"Status": "TasksStatusCollection", "PriorityCode": "TasksPriorityCodeCollection"},
	"AppointmentCollection":                {"LifeCycleStatusCode": "AppointmentLifeCycleStatusCodeCollection"},
	"AppointmentInvolvedPartiesCollection": {"RoleCode": "AppointmentInvolvedPartiesRoleCodeCollection"},
	"ServiceRequestCollection":             {"ServiceRequestLifeCycleStatusCode": "ServiceRequestServiceRequestLifeCycleStatusCodeCollection"},
	"OpportunityCollection":                {"LifeCycleStatusCode": "OpportunityLifeCycleStatusCodeCollection"},
	"ContactCollection":                    {"StatusCode": "ContactStatusCodeCollection"},
}

// DefaultCodeLists are the code lists of a new local tenant. The codes and
// descriptions are those crmsync assumed before it read code lists; no SAP
// source read states a standard tenant's codes, so a test that cares gives
// its own (Options.CodeLists). The role and service request status codes
// are this fake's own: clients find them by description (Organizer,
// Attendee; Completed, Closed). The opportunity life cycle codes are those
// public clients read (1–5 Open, In Process, Won, Lost, Stopped); the
// contact status codes are the business partner life cycle's (1 In
// Preparation, 2 Active, 3 Blocked), the fake's own choice.
func DefaultCodeLists() map[string][]Code {
	return map[string][]Code{
		"TasksStatusCollection":                                     {{"1", "Open"}, {"2", "In Process"}, {"3", "Completed"}, {"4", "Waiting"}, {"5", "Deferred"}},
		"TasksPriorityCodeCollection":                               {{"1", "Immediate"}, {"2", "Urgent"}, {"3", "Normal"}, {"7", "Low"}},
		"AppointmentLifeCycleStatusCodeCollection":                  {{"1", "Open"}, {"2", "In Process"}, {"3", "Completed"}, {"4", "Canceled"}},
		"AppointmentInvolvedPartiesRoleCodeCollection":              {{"22", "Organizer"}, {"27", "Attendee"}, {"55", "Employee Responsible"}},
		"ServiceRequestServiceRequestLifeCycleStatusCodeCollection": {{"1", "Open"}, {"2", "In Process"}, {"3", "Customer Action"}, {"5", "Completed"}, {"6", "Closed"}},
		"OpportunityLifeCycleStatusCodeCollection":                  {{"1", "Open"}, {"2", "In Process"}, {"3", "Won"}, {"4", "Lost"}, {"5", "Stopped"}},
		"ContactStatusCodeCollection":                               {{"1", "In Preparation"}, {"2", "Active"}, {"3", "Blocked"}},
	}
}

// codeText is the description of the code in e's property prop, from the
// code list that valueHelp names for it in coll's entity set (this
// tenant's): a code field's …Text twin (c4c.md "Code fields come with a
// …Text twin"). "" when the field holds no code or has no code list.
func (s *Server) codeText(coll *collection, e *entity, prop string) string {
	code, _ := e.props[prop].(string)
	list := valueHelp[coll.name][prop]
	if code == "" || list == "" {
		return ""
	}
	codes, _ := s.codeList(list)
	for _, c := range codes {
		if c.Code == code {
			return c.Description
		}
	}
	return ""
}

// codeList returns the codes of a code list entity set, and whether name is one.
func (s *Server) codeList(name string) ([]Code, bool) {
	if l, ok := s.opts.CodeLists[name]; ok {
		return l, true
	}
	l, ok := DefaultCodeLists()[name]
	return l, ok
}

// checkCode refuses a write of a code that is not in its property's code
// list (empty clears the property). C4C validates coded properties against
// their code lists; the message shape is the gateway's "Invalid value".
func (s *Server) checkCode(coll, prop string, v any) *odataErr {
	list := valueHelp[coll][prop]
	code, _ := v.(string)
	if list == "" || code == "" {
		return nil
	}
	codes, _ := s.codeList(list)
	for _, c := range codes {
		if c.Code == code {
			return nil
		}
	}
	return errf(400, "", "Invalid value '%s' for property '%s' (not in code list %s)", code, prop, list)
}

// serveCodeList answers a read of a code list entity set: every entry,
// JSON, with __metadata (they are never paged: code lists are small).
func (s *Server) serveCodeList(name string, q url.Values, base string) reply {
	if st := s.nextErr[name]; st != 0 {
		delete(s.nextErr, name)
		return errReply(errf(st, "", "Internal server error"))
	}
	codes, _ := s.codeList(name)
	results := make([]any, 0, len(codes))
	for _, c := range codes {
		if f := q.Get("$filter"); f != "" && f != "Code eq '"+c.Code+"'" {
			continue
		}
		results = append(results, map[string]any{
			"__metadata": map[string]any{"uri": base + name + "('" + url.PathEscape(c.Code) + "')", "type": "c4codataapi.CodeList"},
			"Code":       c.Code, "Description": c.Description,
		})
	}
	return jsonReply(200, map[string]any{"d": map[string]any{"results": results}})
}

// The $metadata document: EDMX 1.0 with an OData 2.0 schema, SAP's sap:
// annotations and C4C's c4c:value-help, as c4codataapi serves it.
const (
	nsEdmx = "http://schemas.microsoft.com/ado/2007/06/edmx"
	nsM    = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
	nsEdm  = "http://schemas.microsoft.com/ado/2008/09/edm"
	nsSAP  = "http://www.sap.com/Protocols/SAPData"
	nsC4C  = "http://www.sap.com/Protocols/C4CData"
)

type xAttr = xml.Attr

func attr(name, v string) xAttr { return xAttr{Name: xml.Name{Local: name}, Value: v} }

// entitySets are the entity sets $metadata declares: the collections and
// the child entity sets of their navigations, by name.
func entitySets() map[string]*collection {
	sets := map[string]*collection{}
	for n, c := range collections {
		sets[n] = c
	}
	for n, cs := range childSets {
		sets[n] = collections[cs.parent].navs[cs.nav]
	}
	return sets
}

// metadata renders $metadata from the collection table: one EntityType per
// entity set (collections and child sets), each property with its type,
// Nullable="false" when mandatory, sap:creatable/updatable/filterable and,
// when coded, c4c:value-help; then the entity sets and the code list sets.
func (s *Server) metadata() reply {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	start := func(name string, attrs ...xAttr) {
		_ = enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: name}, Attr: attrs})
	}
	end := func(name string) { _ = enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: name}}) }
	start("edmx:Edmx", attr("Version", "1.0"), attr("xmlns:edmx", nsEdmx), attr("xmlns:m", nsM), attr("xmlns:sap", nsSAP), attr("xmlns:c4c", nsC4C))
	start("edmx:DataServices", attr("m:DataServiceVersion", "2.0"))
	start("Schema", attr("Namespace", "c4codataapi"), attr("xmlns", nsEdm))
	sets := entitySets()
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	tf := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	typeName := func(c *collection) string { return c.typ[len("c4codataapi."):] }
	edm := map[propKind]string{str: "Edm.String", date: "Edm.DateTimeOffset", boolean: "Edm.Boolean"}
	for _, n := range names {
		c := sets[n]
		start("EntityType", attr("Name", typeName(c)))
		start("Key")
		start("PropertyRef", attr("Name", "ObjectID"))
		end("PropertyRef")
		end("Key")
		props := make([]string, 0, len(c.props))
		for p := range c.props {
			props = append(props, p)
		}
		sort.Strings(props)
		for _, p := range props {
			pr := c.props[p]
			as := []xAttr{attr("Name", p), attr("Type", edm[pr.kind]), attr("Nullable", tf(!pr.required && p != "ObjectID")),
				attr("sap:creatable", tf(!pr.readOnly)), attr("sap:updatable", tf(!pr.readOnly)), attr("sap:filterable", tf(pr.filterable))}
			if vh := valueHelp[n][p]; vh != "" {
				as = append(as, attr("c4c:value-help", vh))
			}
			start("Property", as...)
			end("Property")
		}
		end("EntityType")
	}
	start("EntityType", attr("Name", "CodeList"))
	start("Key")
	start("PropertyRef", attr("Name", "Code"))
	end("PropertyRef")
	end("Key")
	for _, p := range []string{"Code", "Description"} {
		start("Property", attr("Name", p), attr("Type", "Edm.String"), attr("Nullable", tf(p != "Code")), attr("sap:creatable", "false"), attr("sap:updatable", "false"), attr("sap:filterable", "true"))
		end("Property")
	}
	end("EntityType")
	start("EntityContainer", attr("Name", "c4codataapi"), attr("m:IsDefaultEntityContainer", "true"))
	for _, n := range names {
		start("EntitySet", attr("Name", n), attr("EntityType", sets[n].typ))
		end("EntitySet")
	}
	for _, l := range codeListNames() {
		start("EntitySet", attr("Name", l), attr("EntityType", "c4codataapi.CodeList"), attr("sap:semantics", "fixed-values"),
			attr("sap:creatable", "false"), attr("sap:updatable", "false"), attr("sap:deletable", "false"))
		end("EntitySet")
	}
	end("EntityContainer")
	end("Schema")
	end("edmx:DataServices")
	end("edmx:Edmx")
	_ = enc.Flush()
	return reply{status: 200, header: http.Header{"Content-Type": {"application/xml"}}, body: b.Bytes()}
}

// codeListNames are the code list entity sets some property names as its
// value help, sorted.
func codeListNames() []string {
	seen := map[string]bool{}
	var lists []string
	for _, m := range valueHelp {
		for _, l := range m {
			if !seen[l] {
				seen[l] = true
				lists = append(lists, l)
			}
		}
	}
	sort.Strings(lists)
	return lists
}

// isCodeList says whether name is a code list entity set of the service.
func isCodeList(name string) bool {
	for _, m := range valueHelp {
		for _, l := range m {
			if l == name {
				return true
			}
		}
	}
	return false
}
