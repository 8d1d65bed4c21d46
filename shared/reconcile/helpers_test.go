package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

var (
	testKey = []byte("test-key-0123456789abcdef")
	t0      = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
)

// fixture builds inputs and renders outputs readably: it remembers every
// value it has seen, so fingerprints render as the values they stand for.
type fixture struct {
	kind item.Kind
	rev  map[string]string
	// messages adds issue messages to rendered plans.
	messages bool
}

func newFixture(kind item.Kind) *fixture { return &fixture{kind: kind, rev: map[string]string{}} }

func (f *fixture) learn(field, value string) {
	// The first spelling learned names a fingerprint: values that normalize
	// alike share it.
	fp := item.Fingerprint(testKey, f.kind, field, value)
	if _, ok := f.rev[fp]; !ok {
		f.rev[fp] = field + "=" + value
	}
}

// fields parses "Field=value" pairs.
func fields(kv ...string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, p := range kv {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			panic("field pair without '=': " + p)
		}
		m[k] = v
	}
	return m
}

// rec is a record of the fixture's kind at version ver, modified min minutes
// after t0.
func (f *fixture) rec(id, ver string, min int, kv ...string) item.Record {
	r := item.Record{Kind: f.kind, ID: id, Version: ver, Modified: t0.Add(time.Duration(min) * time.Minute), Fields: fields(kv...)}
	for k, v := range r.Fields {
		f.learn(k, v)
	}
	return r
}

// link is a live link whose last synced values are kv.
func (f *fixture) link(crm, mbx string, kv ...string) Link {
	l := Link{Kind: f.kind, CRMID: crm, MailboxID: mbx, Fingerprints: map[string]string{}, LastSynced: t0.Add(-time.Hour)}
	for k, v := range fields(kv...) {
		f.learn(k, v)
		l.Fingerprints[k] = item.Fingerprint(testKey, f.kind, k, v)
	}
	return l
}

func (f *fixture) input(links []Link, crm, mbx []item.Record) Input {
	return Input{
		Kind: f.kind, Now: t0, Key: testKey, Links: links,
		CRM:     item.Changes{Kind: f.kind, Records: crm},
		Mailbox: item.Changes{Kind: f.kind, Records: mbx},
	}
}

func (f *fixture) fps(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if s, ok := f.rev[m[k]]; ok {
			parts = append(parts, s)
		} else {
			parts = append(parts, k+"=#"+m[k])
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func kvs(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// render turns a plan into lines for comparison and golden files.
func (f *fixture) render(out Output) []string {
	var lines []string
	for _, a := range out.Actions {
		var b strings.Builder
		b.WriteString(string(a.Op))
		switch a.Op {
		case CreateCRM, CreateMailbox:
			from, src := CRM, a.Link.CRMID
			if a.Op == CreateCRM {
				from, src = Mailbox, a.Link.MailboxID
			}
			fmt.Fprintf(&b, " from %s %s", src, kvs(a.Record.Fields))
			if a.Marker != MarkerFor(f.kind, from, src) {
				fmt.Fprintf(&b, " marker=%s", a.Marker)
			}
			if a.SeriesMarker != "" {
				fmt.Fprintf(&b, " series=%s", a.SeriesMarker)
			}
		case UpdateCRM, UpdateMailbox:
			fmt.Fprintf(&b, " %s %s", a.Record.ID, kvs(a.Record.Fields))
		case DeleteCRM, DeleteMailbox:
			fmt.Fprintf(&b, " %s", a.Record.ID)
		}
		l := a.Link
		if a.DropsLink() {
			fmt.Fprintf(&b, " => drop %s|%s", l.CRMID, l.MailboxID)
		} else {
			fmt.Fprintf(&b, " => link %s|%s %s", l.CRMID, l.MailboxID, f.fps(l.Fingerprints))
			if l.CRMVersion != "" || l.MailboxVersion != "" {
				fmt.Fprintf(&b, " v=%s|%s", l.CRMVersion, l.MailboxVersion)
			}
		}
		lines = append(lines, b.String())
	}
	for _, c := range out.Conflicts {
		lines = append(lines, fmt.Sprintf("conflict %s|%s %s winner=%s rule=%s", c.CRMID, c.MailboxID, c.Field, c.Winner, c.Rule))
	}
	for _, i := range out.Issues {
		line := fmt.Sprintf("issue %s %s %s %q", i.Code, i.Side, i.RecordID, i.Name)
		if f.messages {
			line += ": " + i.Message
		}
		lines = append(lines, line)
	}
	if g := out.Guard; g.Tripped != "" {
		lines = append(lines, fmt.Sprintf("guard %s live=%d removals=%d limit=%d overridden=%t", g.Tripped, g.LiveLinks, g.Removals, g.Limit, g.Overridden))
	}
	return lines
}
