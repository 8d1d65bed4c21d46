// Package reconcile is crmsync's pure sync planner. From the stored links of
// one kind, what each side reports changed, and the user's policy, Plan
// returns the actions to run as data (after vdirsyncer's sync core and
// syncthing's conflict code). It does no I/O and reads no clock: time comes in
// as Input.Now. The session runner executes the plan.
//
// # Rules
//
// DESIGN.md's default sync rules, each shown by a TestPlan case and the
// scenario files in testdata:
//
//   - Field-level merge against the last synced state, told by per-field keyed
//     fingerprints (item.Fingerprint): a field changed on one side is copied to
//     the other; changes to different fields both win; the same field changed
//     on both sides to different values is settled by Policy.Conflict (newer
//     record wins by default, a tie goes to the CRM) and logged as a Conflict
//     without values. A one-way Direction copies only from its source.
//   - Echo suppression: a record whose fields fingerprint like its link is
//     unchanged whatever its version says, so the session after a sync, which
//     sees that sync's own writes, plans nothing and writes no state. A record
//     reporting the version its link last saw is not even fingerprinted.
//   - Matching before creating: records no link knows are paired across the
//     sides by crmsync's marker (a copy a killed session created), then by
//     natural key — contacts by normalized e-mail, else first and last name;
//     tasks by subject and due date; events by subject and start — so a first
//     sync or a replay never duplicates. Then a new mailbox item matching a
//     detached link relinks to its CRM record. What is left is created on the
//     other side: CRM records always (direction permitting), mailbox items per
//     Policy.NewItems (events only with the share category by default).
//   - Deletes and scope: a CRM delete deletes the mailbox copy (even if it was
//     just edited: the edit is lost and a "delete" Conflict logged). A CRM
//     record leaving scope is removed from the mailbox, even from outside the
//     mailbox's view, and never deleted in the CRM; for events the default
//     keeps the calendar copy instead (Policy.ScopeLoss), as a sliding window
//     must not empty the past of a calendar. A mailbox delete detaches the link (the CRM
//     record stays and is not put back, not even by a full re-read) or, opted
//     in, deletes the CRM record — unless the CRM record changed meanwhile:
//     then it is kept, detached, and an issue says so. A mailbox item leaving
//     the mailbox's view (moved out of the folder, out of the window) stays
//     linked and changes nothing in the CRM; so does a linked event losing the
//     share category. A linked record absent from a full listing counts as
//     having left scope, never as deleted: on the CRM side it is removed from
//     the mailbox; on the mailbox side (deleted or moved, the listing cannot
//     say) its link is detached.
//   - Recurring events: a series and each exception are records of their own;
//     an exception (item.SeriesID set) is planned after every series action,
//     and its create names the series by its ID on the target side, or by
//     Action.SeriesMarker when the series is created by the same plan. An
//     exception whose series is not synced raises a SeriesNotSynced issue.
//   - Guards (rclone bisync, syncthing): when a side looks empty (it lost every
//     link, even one, through a full listing or removals) or the plan would
//     delete or unlink more than Policy.Guard allows (default more than half,
//     from 10 live links), no delete, unlink or detach of the kind is planned,
//     nothing is created into a side that looks empty, an issue is raised and
//     Output.Guard says which guard tripped; everything else goes ahead.
//     Input.Confirmed lets the removals through once the user confirms.
//   - Order: actions come sorted by phase (exceptions last), Op, CRM ID and
//     mailbox ID, so a plan is the same for the same input in any order.
//
// # Running a plan (the session runner's contract)
//
//   - Run the actions in order (batching consecutive actions of one Op is
//     fine). Before a create, record an intent with Action.Marker; stamp the
//     marker on the record where the side can. For an exception with a
//     SeriesMarker, put the series' new ID in Record.Fields[item.SeriesID].
//   - After an action succeeds: if Action.DropsLink, delete the stored link
//     (by Link.CRMID); else save Action.Link, with the created record's new ID
//     filled in (Link.CRMID for CreateCRM, Link.MailboxID for CreateMailbox).
//     Detached links are stored like live ones and passed back in Input.Links.
//   - A link's actions are in order and each one's Link assumes the earlier
//     ones succeeded: after a failure, save no later Link of the same link
//     (same Link.CRMID, or for a create the same source) in this plan. Nothing
//     is lost: the fingerprints that stayed behind make the next session redo
//     the work when the written record's echo comes back.
//   - An update answered Gone (the record was deleted out of sight): drop the
//     link; a delete answered Gone is a success.
//   - When Output.Guard.Tripped is set and not Overridden, keep that kind's
//     cursors: the held removals and creates are reported and planned again,
//     and Input.Confirmed applies them after the user confirms.
//   - Records must carry every field in Policy.Fields (a field absent from
//     Record.Fields counts as not read, so it is never a change).
//
// # Known limits
//
// A detached CRM record relinked to a returning mailbox item is merged with
// the CRM record only if the CRM reported it in the same session; otherwise
// CRM changes made while it was detached reach the mailbox with the CRM
// record's next report (the planner holds no values to copy). Matching sees
// only records in the current reports: a record hidden from the sync (out of
// scope) when its twin was created on the other side is not matched later —
// the CRM's own duplicate rules are the last line there.
package reconcile
