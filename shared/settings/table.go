package settings

import "strings"

// MarkdownTable renders Specs as the Markdown table the README shows between
// its settings markers.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Setting | Required | Default | Description |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, s := range Specs() {
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
