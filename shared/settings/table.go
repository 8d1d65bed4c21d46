package settings

import (
	"strings"
)

// MarkdownTable renders specs (All: the generic settings and the connectors')
// as the Markdown table the README shows between its settings markers.
func MarkdownTable(specs []Spec) string {
	var b strings.Builder
	b.WriteString("| Setting | Required | Default | Description |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, s := range specs {
		required := "no"
		switch {
		case s.Required:
			required = "yes"
		case s.RequiredWhen != "":
			required = "when " + s.RequiredWhen
		}
		def := s.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		b.WriteString("| `" + s.Name + "` | " + required + " | " + def + " | " + s.Description + " |\n")
	}
	return b.String()
}

// ParseMarkdownTable reads back the Name, Required, RequiredWhen, Default and
// Description of each row MarkdownTable wrote. Tools that cannot import the
// wiring (a main package) that lists every connector, such as the Bicep
// check, read the README's generated table with it. Rows it cannot read are
// skipped; the caller checks the names it needs.
func ParseMarkdownTable(table string) []Spec {
	var out []Spec
	for _, line := range strings.Split(table, "\n") {
		cells := strings.SplitN(line, " | ", 4)
		if len(cells) != 4 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		s := Spec{Name: strings.Trim(strings.TrimPrefix(cells[0], "| "), "`"), Description: strings.TrimSuffix(cells[3], " |")}
		switch r := cells[1]; {
		case r == "yes":
			s.Required = true
		case strings.HasPrefix(r, "when "):
			s.RequiredWhen = strings.TrimPrefix(r, "when ")
		}
		if d := cells[2]; d != "—" {
			s.Default = strings.TrimSuffix(strings.TrimPrefix(d, "`"), "`")
		}
		out = append(out, s)
	}
	return out
}
