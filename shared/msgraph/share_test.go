package msgraph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
)

// attachLarge adds an attachment of any size to a message the way Graph
// takes one over 3 MB: an upload session, then the bytes PUT in ranges of
// at most 4 MB to its URL, which carries its own credential (httpc sends no
// bearer token).
func (h *graphHarness) attachLarge(ctx context.Context, httpc *http.Client, msgID, name string, content []byte) error {
	var session struct {
		UploadURL string `json:"uploadUrl"`
	}
	item := map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": name, "size": len(content),
		"contentType": "application/octet-stream"}}
	if err := h.side.c.sendJSON(ctx, http.MethodPost, h.side.c.mailbox()+"/messages/"+msgID+"/attachments/createUploadSession", item, &session); err != nil {
		return err
	}
	const chunk = 4 << 20
	for start := 0; start < len(content); start += chunk {
		end := min(start+chunk, len(content))
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, session.UploadURL, bytes.NewReader(content[start:end]))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(content)))
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("PUT of bytes %d-%d: %s", start, end-1, resp.Status)
		}
	}
	return nil
}

// TestLargeAttachmentIsStreamed reads an attachment of several MB through
// OpenAttachment from the local Graph over a real socket (it serves $value
// chunked): the content arrives intact, and the client never holds it
// whole, which shows as far fewer bytes allocated than the attachment has.
func TestLargeAttachmentIsStreamed(t *testing.T) {
	fg := fakegraph.New(fakegraph.Options{})
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "Test User")
	srv := httptest.NewServer(fg)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/v1.0", HTTPClient: srv.Client(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fg.Token(upn), TokenType: "Bearer"})})
	if err != nil {
		t.Fatal(err)
	}
	h := &graphHarness{side: NewSide(c, SideOptions{})}
	ctx := t.Context()
	msg, err := h.Email(ctx, "Quarterly figures", true, nil, "notes.txt", []byte("see the spreadsheet"))
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 9<<20+17)
	for i := range content {
		content[i] = byte(i ^ i>>11)
	}
	if err := h.attachLarge(ctx, srv.Client(), msg, "figures.xlsx", content); err != nil {
		t.Fatalf("uploading a %d-byte attachment: %v", len(content), err)
	}
	atts, err := h.side.Attachments(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, a := range atts {
		if a.Name == "figures.xlsx" {
			id = a.ID
			if got, want := a.Size, int64(len(content)); got != want {
				t.Errorf("listed size = %d, want %d", got, want)
			}
		}
	}
	if id == "" {
		t.Fatalf("attachments = %+v, want figures.xlsx among them", atts)
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rc, err := h.side.OpenAttachment(ctx, msg, id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	n, err := io.CopyBuffer(sum, rc, make([]byte, 32<<10))
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("reading the attachment: %v after %d bytes", err, n)
	}
	if got, want := fmt.Sprintf("%x", sum.Sum(nil)), fmt.Sprintf("%x", sha256.Sum256(content)); got != want {
		t.Errorf("sha256 of the %d bytes read = %s, want %s", n, got, want)
	}
	// Process-wide, so the local Graph's side counts too: a client that
	// buffered the body would allocate at least its size.
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(len(content)/4); got > limit {
		t.Errorf("reading %d bytes allocated %d bytes, want under %d: the client buffers the attachment", len(content), got, limit)
	}
}
