package reconcile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/item"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar from the current planner")

// TestGolden runs the scenario files in testdata: each has a "script"
// section (steps on both sides and syncs) and a "want" section (each sync's
// plan and the final links and records). Run with -update to rewrite the
// want sections, then review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenario files in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ar := parseTxtar(data)
			script, ok := ar.section("script")
			if !ok {
				t.Fatalf("%s has no script section", file)
			}
			got, err := runScript(script)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if *update {
				ar.set("want", got)
				if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, _ := ar.section("want")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got; rerun with -update if the change is intended):\n%s", file, diff)
			}
		})
	}
}

// runScript executes a scenario script and returns its log.
func runScript(script string) (string, error) {
	w := newWorld(item.Contact)
	f := newFixture(item.Contact)
	f.messages = true
	var out bytes.Buffer
	for n, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err != nil {
			return "", fmt.Errorf("line %d: %v", n+1, err)
		}
		if err := step(w, f, words, &out); err != nil {
			return "", fmt.Errorf("line %d %q: %v", n+1, line, err)
		}
	}
	fmt.Fprintln(&out, "== state")
	for _, l := range w.stateLines(f) {
		fmt.Fprintln(&out, l)
	}
	return out.String(), nil
}

func step(w *world, f *fixture, words []string, out *bytes.Buffer) error {
	switch words[0] {
	case "kind":
		if len(words) != 2 || len(w.links)+len(w.crm.recs)+len(w.mbx.recs) > 0 {
			return fmt.Errorf("kind takes one word and comes first")
		}
		k := item.Kind(words[1])
		w.kind, w.crm.kind, w.mbx.kind, f.kind = k, k, k, k
		return nil
	case "policy":
		for _, kv := range words[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "direction":
				w.policy.Direction = Direction(v)
			case "conflict":
				w.policy.Conflict = ConflictRule(v)
			case "mailbox-delete":
				w.policy.MailboxDelete = MailboxDelete(v)
			case "new-items":
				w.policy.NewItems = NewItems(v)
			case "scope-loss":
				w.policy.ScopeLoss = ScopeLoss(v)
			default:
				return fmt.Errorf("unknown policy setting %q", k)
			}
		}
		return w.policy.Validate()
	case "sync":
		crashAt := -1
		for _, opt := range words[1:] {
			switch k, v, _ := strings.Cut(opt, "="); k {
			case "crash":
				n, err := strconv.Atoi(v)
				if err != nil {
					return err
				}
				crashAt = n
			case "confirm":
				w.confirm = true
			default:
				return fmt.Errorf("unknown sync option %q", opt)
			}
		}
		res, err := w.session(crashAt)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "== sync %d\n", w.sessions)
		for _, l := range f.render(res.out) {
			fmt.Fprintln(out, l)
		}
		if res.crashed {
			fmt.Fprintf(out, "(killed after step %d)\n", crashAt)
		}
		return nil
	}
	// Side steps: "crm|mailbox verb id args…".
	var s *memSide
	switch words[0] {
	case "crm":
		s = w.crm
	case "mailbox":
		s = w.mbx
	default:
		return fmt.Errorf("unknown step %q", words[0])
	}
	if len(words) < 2 {
		return fmt.Errorf("missing verb")
	}
	switch verb := words[1]; verb {
	case "expire":
		if s.side == CRM {
			w.crmCursor = ""
		} else {
			w.mbxCursor = ""
		}
		return nil
	case "outage":
		s.outage = true
		return nil
	case "no-markers":
		s.stamps = false
		return nil
	}
	if len(words) < 3 {
		return fmt.Errorf("missing record ID")
	}
	verb, id, args := words[1], words[2], words[3:]
	if verb != "add" {
		if _, ok := s.recs[id]; !ok {
			return fmt.Errorf("no record %s on the %s", id, s.side)
		}
	}
	switch verb {
	case "add", "set":
		fields := map[string]string{}
		var cats []string
		for _, a := range args {
			if c, ok := strings.CutPrefix(a, "#"); ok {
				cats = append(cats, c)
				continue
			}
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				return fmt.Errorf("%q is not Field=value", a)
			}
			fields[k] = v
			f.learn(k, v)
		}
		if verb == "add" {
			if _, dup := s.recs[id]; dup {
				return fmt.Errorf("record %s exists", id)
			}
			s.create(id, fields, cats, "")
		} else {
			s.update(id, fields)
		}
	case "delete":
		s.delete(id)
	case "out", "in":
		s.setScope(id, verb == "in")
	case "tag", "untag":
		var cats []string
		if verb == "tag" {
			cats = args
		}
		s.setCategories(id, cats)
	default:
		return fmt.Errorf("unknown verb %q", verb)
	}
	return nil
}

// splitWords splits a script line on spaces; a word may quote its value part
// (Subject="Team call").
func splitWords(line string) ([]string, error) {
	var words []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		end := strings.IndexByte(line, ' ')
		if q := strings.Index(line, `="`); q >= 0 && (end < 0 || q < end) {
			rest := line[q+1:]
			unq, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("bad quoted value in %q", line)
			}
			v, _ := strconv.Unquote(unq)
			words = append(words, line[:q+1]+v)
			line = rest[len(unq):]
			continue
		}
		if end < 0 {
			end = len(line)
		}
		words = append(words, line[:end])
		line = line[end:]
	}
	return words, nil
}

// txtar is a minimal reader and writer of the txtar format
// (golang.org/x/tools/txtar): a comment, then "-- name --" sections.
type txtar struct {
	comment string
	names   []string
	data    map[string]string
}

func parseTxtar(b []byte) *txtar {
	ar := &txtar{data: map[string]string{}}
	cur := ""
	var buf strings.Builder
	flush := func() {
		if cur == "" {
			ar.comment = buf.String()
		} else {
			ar.names = append(ar.names, cur)
			ar.data[cur] = buf.String()
		}
		buf.Reset()
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		trimmed := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			flush()
			cur = strings.TrimSpace(trimmed[3 : len(trimmed)-3])
			continue
		}
		buf.WriteString(line)
	}
	flush()
	return ar
}

func (ar *txtar) section(name string) (string, bool) {
	s, ok := ar.data[name]
	return s, ok
}

func (ar *txtar) set(name, content string) {
	if _, ok := ar.data[name]; !ok {
		ar.names = append(ar.names, name)
	}
	ar.data[name] = content
}

func (ar *txtar) format() []byte {
	var b bytes.Buffer
	b.WriteString(ar.comment)
	for _, n := range ar.names {
		fmt.Fprintf(&b, "-- %s --\n", n)
		s := ar.data[n]
		b.WriteString(s)
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
