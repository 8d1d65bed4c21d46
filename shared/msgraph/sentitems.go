package msgraph

import (
	"context"
	"net/url"
	"strconv"
)

// SentMessage is a message of the Sent Items folder: its immutable id and
// subject, read for a page and never stored.
type SentMessage struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
}

// sentPage is how many messages one request asks for.
const sentPage = 100

// SentMessages lists up to limit of the newest messages in Sent Items
// (immutable ids, newest first), following pages as Graph gives them.
func (c *Client) SentMessages(ctx context.Context, limit int) ([]SentMessage, error) {
	q := url.Values{"$select": {"id,subject"}, "$orderby": {"sentDateTime desc"}, "$top": {strconv.Itoa(min(limit, sentPage))}}
	path := c.mailbox() + "/mailFolders/sentitems/messages?" + q.Encode()
	var out []SentMessage
	for path != "" && len(out) < limit {
		var page struct {
			Value []SentMessage `json:"value"`
			Next  string        `json:"@odata.nextLink"`
		}
		if err := c.getJSON(ctx, path, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		path = page.Next
	}
	return out[:min(len(out), limit)], nil
}
