// Package google is the Google Workspace mailbox connector: contacts through
// the People API (a "crmsync" contact group is the synced folder), events
// through Calendar v3 (sync tokens, watch channels for push), tasks through
// Tasks v1 (updatedMin polling) and e-mail sharing through Gmail labels and
// history, under the contract of shared/side; users connect with OAuth or
// an admin onboards them through domain-wide delegation. Each API tracks
// change in its own way and breaks in its own way;
// ../shared/reference/google.md lists the traps, and the comments here say
// where each is handled.
//
// Wiring (functions/wire.go, the demo): Connector is the side.Connector;
// Opener (OAuth from OAuthConfig, Delegation for jwt_bearer connections,
// Push for watch channels, BaseURL for the local Google) is the
// sides.MailboxOpener; Push is the side.Pusher the notifications function
// serves at Opener.Push.Address, with the same key.
//
// Cursors (opaque to the engine, no content or addresses in them):
//   - contacts "people1|<group>|<sync token>": the People sync token, read
//     with the same parameters every page and run; it dies after 7 days
//     (EXPIRED_SYNC_TOKEN), so the user's sessions must run at least weekly —
//     past that, a full read (Full) with no duplicates;
//   - events "events2|{t: calendar → sync token, w: calendar → channel}":
//     410 wipes that calendar's token and reads it in full;
//   - tasks "tasks1|<list>|<last update>|<versions seen>": no sync token;
//     updatedMin with a skew, the versions seen in the skew not reported twice;
//   - e-mails "gmail1|<history id>|<label name hash>=<id>,…": history.list, 404 → full
//     read of the share labels; the crmsync/Shared label keeps a message
//     from being shared twice.
//
// Tasks has no field for crmsync's marker, a status other than open or
// completed, the priority or the issue flag: they live in a one-line
// trailer at the end of the notes ("[crmsync marker=…; priority=High]").
package google
