package session_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

type oneProfile struct{}

func (oneProfile) Profile(_ context.Context, user string) (account.Profile, error) {
	return account.Profile{User: user, Org: "org-1", Email: "me@ourco.com"}, nil
}
func (oneProfile) Members(context.Context, string) ([]account.Profile, error) { return nil, nil }

type noConns struct{}

func (noConns) List(context.Context, string) ([]connection.Connection, error) { return nil, nil }

type keptMail struct{ mails []notice.Mail }

func (k *keptMail) Send(_ context.Context, _ string, m notice.Mail) error {
	k.mails = append(k.mails, m)
	return nil
}

// TestNoContentInInsightTables is TestNoContentInStorage's scan over the
// tables the session's observers write: history (user and org), progress,
// the conflict log and notices. The sessions sync seeded records, settle a
// conflict and fail one item often enough to be e-mailed about; every table
// must have rows, and no key or value may hold a seeded name, address,
// phone or field value. The e-mail may name the failing item (the privacy
// rule allows names of failed items) and nothing else of it.
func TestNoContentInInsightTables(t *testing.T) {
	f := newFixture(t)
	mail := &keptMail{}
	n, err := notice.New(notice.Deps{Tables: f.store, Mailer: mail, Profiles: oneProfile{}, Connections: noConns{}, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.r.Observer = session.Observers{insight.New(f.store, func(context.Context, string) (string, error) { return "org-1", nil }, nil, f.r.Now), n}
	seeded := []string{"Lovelace", "ada@acme.com", "+44 20 7946 0000", "Countess", "Analyst", "Hopper", "grace@navy.mil", "Babbage", "charles@engine.example"}
	a := contact("Ada", "Lovelace", "ada@acme.com")
	a.Fields[item.Phone] = "+44 20 7946 0000"
	id := f.crm.Put(a)
	f.mbx.Put(contact("Grace", "Hopper", "grace@navy.mil"))
	f.run(t)
	// A conflict: both sides change Ada's title.
	f.crm.Edit(item.Contact, id, map[string]string{item.Title: "Countess"})
	for mid, r := range f.mbx.All(item.Contact) {
		if r.Fields[item.LastName] == "Lovelace" {
			f.mbx.Edit(item.Contact, mid, map[string]string{item.Title: "Analyst"})
		}
	}
	// A failing item: Charles never reaches the mailbox.
	f.crm.Put(contact("Charles", "Babbage", "charles@engine.example"))
	f.mbx.FailRecord = func(op string, r item.Record) error {
		if r.Fields[item.LastName] == "Babbage" {
			return fault.New(fault.Temporary, "ErrorServerBusy", "busy")
		}
		return nil
	}
	for range notice.FailingAfter + 1 {
		f.run(t)
	}
	for _, table := range []string{insight.HistoryTable, insight.OrgHistoryTable, insight.ProgressTable, insight.ConflictsTable, notice.Table} {
		rows := storetest.Rows(t, f.store, table)
		if len(rows) == 0 {
			t.Errorf("table %s has no rows: the sessions stored nothing there to check", table)
		}
		for _, e := range rows {
			text := e.PartitionKey + " " + e.RowKey + " " + fmt.Sprint(e.Properties)
			for _, bad := range append(seeded, "me@ourco.com") {
				if strings.Contains(text, bad) {
					t.Errorf("table %s row %s holds %q", table, e.RowKey, bad)
				}
			}
		}
	}
	if len(mail.mails) != 1 || !strings.Contains(mail.mails[0].Text, "Charles Babbage") {
		t.Fatalf("mails %+v, want one naming Charles Babbage", mail.mails)
	}
	for _, bad := range []string{"charles@engine.example", "Lovelace", "Countess"} {
		if strings.Contains(mail.mails[0].Text+mail.mails[0].Subject, bad) {
			t.Errorf("the e-mail holds %q", bad)
		}
	}
}
