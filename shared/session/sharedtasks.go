package session

import (
	"context"
	"errors"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// SharedTasksTable maps shared e-mails to the CRM Task they became, across
// an organisation: PartitionKey the organisation ("org|" + the CRM's org id,
// or "user|" + the user when the CRM names no org), RowKey a keyed
// fingerprint of the e-mail's Internet message id (never the id itself),
// TaskID the CRM record. Two copies of one e-mail, in two folders or in
// colleagues' mailboxes, find the Task the first one made.
//
// Rows in "relate|" + a Task owner's user partitions hold people another
// user's session could not relate to that owner's Task (no edit access):
// the owner's next session relates them.
const SharedTasksTable = "sharedtasks"

// OrgKeySource gives an organisation's key for fingerprints its users share
// (account.Accounts).
type OrgKeySource interface {
	OrgKey(ctx context.Context, org string) ([]byte, error)
}

// sharedTask is a ledger row: the Task an e-mail became and who made it.
type sharedTask struct {
	TaskID string
	Owner  string
}

// emailLedger finds and records the Tasks e-mails became, for one session.
type emailLedger struct {
	store     tablestore.Store
	partition string
	key       []byte
}

// ledger opens the session's e-mail ledger: organisation-wide when the CRM
// names its org and the runner has organisation keys, else the user's own.
func (s *run) ledger(ctx context.Context) (*emailLedger, error) {
	l := &emailLedger{store: s.Store, partition: "user|" + s.user, key: s.settings.FingerprintKey}
	or, ok := s.sides.CRM.(side.OrgReporter)
	if !ok || or.Org() == "" || s.OrgKeys == nil {
		return l, nil
	}
	key, err := s.OrgKeys.OrgKey(ctx, or.Org())
	if err != nil {
		return nil, err
	}
	if len(key) < item.MinKeyBytes {
		return l, nil
	}
	l.partition, l.key = "org|"+or.Org(), key
	return l, nil
}

// fingerprint is the row key of a message id ("" = none).
func (l *emailLedger) fingerprint(messageID string) string {
	if strings.TrimSpace(messageID) == "" {
		return ""
	}
	return item.Fingerprint(l.key, item.SharedEmail, item.MessageID, strings.TrimSpace(messageID))
}

// find returns the Task an e-mail became, if any.
func (l *emailLedger) find(ctx context.Context, fp string) (sharedTask, bool, error) {
	if fp == "" {
		return sharedTask{}, false, nil
	}
	e, err := l.store.Get(ctx, SharedTasksTable, l.partition, fp)
	if errors.Is(err, tablestore.ErrNotFound) {
		return sharedTask{}, false, nil
	}
	if err != nil {
		return sharedTask{}, false, err
	}
	id, _ := e.Properties["TaskID"].(string)
	owner, _ := e.Properties["Owner"].(string)
	return sharedTask{TaskID: id, Owner: owner}, id != "", nil
}

// record notes the Task an e-mail became. A row another session wrote
// first keeps its Task.
func (l *emailLedger) record(ctx context.Context, fp, taskID, owner string) error {
	if fp == "" {
		return nil
	}
	_, err := l.store.Insert(ctx, SharedTasksTable, tablestore.Entity{PartitionKey: l.partition, RowKey: fp,
		Properties: map[string]any{"TaskID": taskID, "Owner": owner}})
	if errors.Is(err, tablestore.ErrExists) {
		return nil
	}
	return err
}

// deferRelate leaves people for the Task's owner to relate, one row per
// e-mail and colleague.
func (l *emailLedger) deferRelate(ctx context.Context, t sharedTask, fp, from string, who []string) error {
	_, err := l.store.Upsert(ctx, SharedTasksTable, tablestore.Entity{PartitionKey: "relate|" + t.Owner, RowKey: fp + "|" + from,
		Properties: map[string]any{"TaskID": t.TaskID, "Who": strings.Join(who, ",")}})
	return err
}

// relateDeferred relates the people colleagues' sessions left for this
// user's Tasks, and clears each row done.
func (s *run) relateDeferred(ctx context.Context) error {
	rel, ok := s.sides.CRM.(side.EmailRelater)
	if !ok {
		return nil
	}
	var rows []tablestore.Entity
	if err := s.st.scan(ctx, SharedTasksTable, tablestore.Query{PartitionKey: "relate|" + s.user}, func(e tablestore.Entity) error {
		rows = append(rows, e)
		return nil
	}); err != nil {
		return err
	}
	for _, e := range rows {
		task, _ := e.Properties["TaskID"].(string)
		who, _ := e.Properties["Who"].(string)
		if err := rel.RelateEmail(ctx, task, strings.Split(who, ",")); err != nil {
			s.log.Warn("relating a colleague's e-mail participants failed", "err", err)
			continue
		}
		if err := s.Store.Delete(ctx, SharedTasksTable, e.PartitionKey, e.RowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return err
		}
		s.rep.Counts["email|to-crm|relate"]++
	}
	return nil
}

// ForgetSharedTasks removes a user from the shared e-mail ledger, for
// account deletion: the user's own partitions ("user|", "relate|") go, and
// organisation rows the user made keep their Task (a colleague's copy still
// finds it) but no longer name the user. It scans the table, which account
// deletion can afford.
func ForgetSharedTasks(ctx context.Context, store tablestore.Store, user string) error {
	var drop, anon []tablestore.Entity
	q := tablestore.Query{}
	for {
		page, err := store.Query(ctx, SharedTasksTable, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			switch {
			case e.PartitionKey == "user|"+user || e.PartitionKey == "relate|"+user:
				drop = append(drop, e)
			case strings.HasPrefix(e.PartitionKey, "org|") && e.Properties["Owner"] == user:
				anon = append(anon, e)
			}
		}
		if page.Continuation == "" {
			break
		}
		q.Continuation = page.Continuation
	}
	for _, e := range drop {
		if err := store.Delete(ctx, SharedTasksTable, e.PartitionKey, e.RowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return err
		}
	}
	for _, e := range anon {
		e.Properties["Owner"] = ""
		if _, err := store.Upsert(ctx, SharedTasksTable, e); err != nil {
			return err
		}
	}
	return nil
}
