package infratest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	tree_sitter "github.com/tree-sitter/go-tree-sitter"
)

// namedChildren lists a node's named children.
func namedChildren(n *tree_sitter.Node) []*tree_sitter.Node {
	var out []*tree_sitter.Node
	for i := uint(0); i < n.NamedChildCount(); i++ {
		out = append(out, n.NamedChild(i))
	}
	return out
}

// line is a node's 1-based line, for messages.
func (f *bicepFile) line(n *tree_sitter.Node) string {
	return fmt.Sprintf("%s:%d", f.path, n.StartPosition().Row+1)
}

// stringValue reads a Bicep string literal without interpolation.
func (f *bicepFile) stringValue(n *tree_sitter.Node) (string, bool) {
	if n.Kind() != "string" {
		return "", false
	}
	var b strings.Builder
	for _, c := range namedChildren(n) {
		switch c.Kind() {
		case "string_content":
			b.WriteString(f.text(c))
		case "escape_sequence":
			b.WriteString(strings.TrimPrefix(f.text(c), `\`))
		default:
			return "", false // interpolation
		}
	}
	return b.String(), true
}

// variable finds `var <name> = <value>` at the top level and returns the value.
func (f *bicepFile) variable(t *testing.T, name string) *tree_sitter.Node {
	t.Helper()
	for _, c := range namedChildren(f.root()) {
		if c.Kind() != "variable_declaration" {
			continue
		}
		kids := namedChildren(c)
		if len(kids) >= 2 && f.text(kids[0]) == name {
			return kids[len(kids)-1]
		}
	}
	t.Fatalf("%s: no top-level `var %s`", f.path, name)
	return nil
}

// property is one key of an object literal.
type property struct {
	key   string
	value *tree_sitter.Node
	node  *tree_sitter.Node
}

// objectProperties lists an object literal's keys (identifiers or strings).
func (f *bicepFile) objectProperties(t *testing.T, obj *tree_sitter.Node) []property {
	t.Helper()
	if obj.Kind() != "object" {
		t.Fatalf("%s: want an object literal, found %s", f.line(obj), obj.Kind())
	}
	var props []property
	for _, p := range namedChildren(obj) {
		if p.Kind() != "object_property" {
			continue
		}
		kids := namedChildren(p)
		if len(kids) < 2 {
			continue
		}
		key := f.text(kids[0])
		if s, ok := f.stringValue(kids[0]); ok {
			key = s
		}
		props = append(props, property{key: key, value: kids[len(kids)-1], node: p})
	}
	return props
}

// objectKeys lists the keys of `var <name> = { … }`; nested objects (as in a
// map of maps) contribute their own keys too when nested is true.
func (f *bicepFile) objectKeys(t *testing.T, name string, nested bool) []string {
	t.Helper()
	var keys []string
	for _, p := range f.objectProperties(t, f.variable(t, name)) {
		if nested && p.value.Kind() == "object" {
			for _, q := range f.objectProperties(t, p.value) {
				keys = append(keys, q.key)
			}
			continue
		}
		keys = append(keys, p.key)
	}
	return keys
}

// stringArray reads `var <name> = ['a' 'b']`.
func (f *bicepFile) stringArray(t *testing.T, name string) []string {
	t.Helper()
	arr := f.variable(t, name)
	if arr.Kind() != "array" {
		t.Fatalf("%s: var %s is a %s, want an array", f.line(arr), name, arr.Kind())
	}
	var out []string
	for _, item := range namedChildren(arr) {
		s, ok := f.stringValue(item)
		if !ok {
			t.Fatalf("%s: var %s holds %q, want plain strings", f.line(item), name, f.text(item))
		}
		out = append(out, s)
	}
	return out
}

// param is one parameter declaration and its decorators.
type param struct {
	name       string
	where      string
	decorators []string
	// hasDefault is true for `param x string = …`.
	hasDefault bool
}

// params lists the file's parameters with the names of their decorators.
// Decorators are the `decorators` node right before the declaration.
func (f *bicepFile) params() []param {
	var out []param
	kids := namedChildren(f.root())
	for i, c := range kids {
		if c.Kind() != "parameter_declaration" {
			continue
		}
		p := param{where: f.line(c)}
		if id := namedChildren(c); len(id) > 0 {
			p.name = f.text(id[0])
			p.hasDefault = len(id) >= 3
		}
		if i > 0 && kids[i-1].Kind() == "decorators" {
			for _, d := range namedChildren(kids[i-1]) {
				call := namedChildren(d)
				if len(call) == 0 {
					continue
				}
				fn := call[0].ChildByFieldName("function")
				if fn != nil {
					name := f.text(fn)
					p.decorators = append(p.decorators, strings.TrimPrefix(name, "sys."))
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// resource is one top-level resource declaration.
type resource struct {
	symbol string
	decl   *tree_sitter.Node
	// body is what follows "=": an object, or a for or if expression.
	body *tree_sitter.Node
}

// resources lists the top-level resources of one type, whatever their API
// version ("Microsoft.KeyVault/vaults" matches 'Microsoft.KeyVault/vaults@2023-07-01').
func (f *bicepFile) resources(resourceType string) []resource {
	var out []resource
	for _, c := range namedChildren(f.root()) {
		if c.Kind() != "resource_declaration" {
			continue
		}
		kids := namedChildren(c)
		if len(kids) < 3 {
			continue
		}
		typ, _ := f.stringValue(kids[1])
		if name, _, _ := strings.Cut(typ, "@"); name == resourceType {
			out = append(out, resource{symbol: f.text(kids[0]), decl: c, body: kids[len(kids)-1]})
		}
	}
	return out
}

// roleAssignment is one Microsoft.Authorization/roleAssignments resource.
type roleAssignment struct {
	symbol string
	// roleKey is the key of the roleIds variable its roleDefinitionId uses.
	roleKey string
	where   string
}

// roleAssignments finds the role assignment resources and the roleIds key each
// one's roleDefinitionId refers to.
func (f *bicepFile) roleAssignments(t *testing.T) []roleAssignment {
	t.Helper()
	var out []roleAssignment
	for _, r := range f.resources("Microsoft.Authorization/roleAssignments") {
		ra := roleAssignment{symbol: r.symbol, where: f.line(r.decl)}
		body := f.text(r.body)
		i := strings.Index(body, "roleDefinitionId:")
		if i < 0 {
			t.Fatalf("%s: role assignment %s has no roleDefinitionId", ra.where, ra.symbol)
		}
		rest := body[i:]
		j := strings.Index(rest, "roleIds.")
		if j < 0 {
			t.Fatalf("%s: role assignment %s must take its role from the roleIds variable", ra.where, ra.symbol)
		}
		key := rest[j+len("roleIds."):]
		end := strings.IndexFunc(key, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		})
		if end >= 0 {
			key = key[:end]
		}
		ra.roleKey = key
		out = append(out, ra)
	}
	return out
}

// stringMap reads `var <name> = { key: 'value' }` as a map.
func (f *bicepFile) stringMap(t *testing.T, name string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range f.objectProperties(t, f.variable(t, name)) {
		s, ok := f.stringValue(p.value)
		if !ok {
			t.Fatalf("%s: %s.%s is %s, want a plain string", f.line(p.node), name, p.key, strconv.Quote(f.text(p.value)))
		}
		m[p.key] = s
	}
	return m
}
