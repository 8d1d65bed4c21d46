package session

import "github.com/crmsync/crmsync/shared/item"

// idleKind reports that neither side reported a change of a kind and neither
// read it in full. The plan of such a kind is empty whatever its links are:
// the planner only plans links a side reported on, and its guards only count
// losses a side reported (a full listing's absent links among them). So the
// session that runs most often — nothing changed — reads no link at all,
// however many the user has, instead of every one of them.
func idleKind(crm, mbx item.Changes) bool {
	return !crm.Full && !mbx.Full && len(crm.Records)+len(crm.Removed)+len(mbx.Records)+len(mbx.Removed) == 0
}
