package salesforce

import (
	"context"
	"net/http"

	"github.com/crmsync/crmsync/shared/fault"
)

// PostFeedItem posts text to a record's (or "me") Chatter feed, mentioning
// the given users after the text, and returns the feed element id.
func (c *Client) PostFeedItem(ctx context.Context, subjectID, text string, mentions []string) (string, error) {
	if subjectID != "me" && !validID(subjectID) {
		return "", fault.New(fault.Permanent, "MALFORMED_ID", "not a record id: "+quoteForMessage(subjectID))
	}
	if len(mentions) > 25 {
		return "", fault.New(fault.Permanent, "INVALID_INPUT", "a feed item mentions at most 25 people")
	}
	body := wireFeedElement{FeedElementType: "FeedItem", SubjectID: subjectID}
	body.Body.MessageSegments = append(body.Body.MessageSegments, wireSegment{Type: "Text", Text: text})
	for _, m := range mentions {
		if !validID(m) {
			return "", fault.New(fault.Permanent, "MALFORMED_ID", "not a user id: "+quoteForMessage(m))
		}
		body.Body.MessageSegments = append(body.Body.MessageSegments, wireSegment{Type: "Text", Text: " "}, wireSegment{Type: "Mention", ID: m})
	}
	b, err := jsonBody(body)
	if err != nil {
		return "", err
	}
	var out wireFeedElement
	if err := c.getJSON(ctx, request{method: http.MethodPost, path: "chatter/feed-elements", body: b}, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}
