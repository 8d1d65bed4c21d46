package msgraph

import "context"

// sentScanned bounds the Sent Items messages read to find tracked ones.
const sentScanned = 300

// SentSubjects finds a user's tracked messages among the newest messages of
// their Sent Items and reads their subjects, live: open tracking stores only
// a keyed hash of each message id, so each sent message's id is hashed the
// same way (Hash: tracking.Tracker.MessageHash) and compared. A tracked
// message not found is no longer there (deleted, or older than the
// messages read).
type SentSubjects struct {
	// Client returns a client on the user's mailbox.
	Client func(ctx context.Context, user string) (*Client, error)
	Hash   func(user, messageID string) string
}

// Subjects returns the subjects of the messages whose hashes are given, by
// hash.
func (s SentSubjects) Subjects(ctx context.Context, user string, hashes []string) (map[string]string, error) {
	out := map[string]string{}
	if len(hashes) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, h := range hashes {
		want[h] = true
	}
	client, err := s.Client(ctx, user)
	if err != nil {
		return nil, err
	}
	sent, err := client.SentMessages(ctx, sentScanned)
	if err != nil {
		return nil, err
	}
	for _, m := range sent {
		if h := s.Hash(user, m.ID); want[h] {
			out[h] = m.Subject
		}
	}
	return out, nil
}
