package salesforce

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"

	"github.com/crmsync/crmsync/shared/fault"
)

// JSONUploadLimit is the largest file sent base64-encoded in a JSON body;
// larger files go as multipart/form-data (JSON bodies are capped at 37.5 MB
// of base64, multipart ContentVersion uploads at 2 GB).
const JSONUploadLimit = 4 << 20

// MaxUpload is the largest file crmsync uploads (held in memory once).
const MaxUpload = 2 << 30

// UploadFile creates a File (ContentVersion) linked to parentID through
// FirstPublishLocationId and returns the ContentVersion id.
func (c *Client) UploadFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error) {
	if !validID(parentID) {
		return "", fault.New(fault.Permanent, "MALFORMED_ID", "not a record id: "+quoteForMessage(parentID))
	}
	if name == "" {
		return "", fault.New(fault.Permanent, "INVALID_INPUT", "a file needs a name")
	}
	if size > MaxUpload {
		return "", fault.New(fault.Permanent, "FILE_TOO_LARGE", fmt.Sprintf("file of %d bytes exceeds the 2 GB upload limit", size))
	}
	data, err := io.ReadAll(io.LimitReader(content, MaxUpload+1))
	if err != nil {
		return "", fault.Wrap(fault.Temporary, err)
	}
	if size >= 0 && int64(len(data)) != size {
		return "", fault.New(fault.Permanent, "SIZE_MISMATCH", fmt.Sprintf("file is %d bytes, expected %d", len(data), size))
	}
	meta := map[string]any{"Title": name, "PathOnClient": name, "FirstPublishLocationId": parentID}
	var req request
	if len(data) <= JSONUploadLimit {
		meta["VersionData"] = base64.StdEncoding.EncodeToString(data)
		b, err := jsonBody(meta)
		if err != nil {
			return "", err
		}
		req = request{method: http.MethodPost, path: "sobjects/ContentVersion", body: b}
	} else {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="entity_content"`)
		h.Set("Content-Type", "application/json")
		part, _ := mw.CreatePart(h)
		b, err := jsonBody(meta)
		if err != nil {
			return "", err
		}
		_, _ = part.Write(b)
		h = textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="VersionData"; filename=%q`, name))
		h.Set("Content-Type", "application/octet-stream")
		part, _ = mw.CreatePart(h)
		_, _ = part.Write(data)
		_ = mw.Close()
		req = request{method: http.MethodPost, path: "sobjects/ContentVersion", body: buf.Bytes(), ctype: mw.FormDataContentType()}
	}
	var res wireSaveResult
	if err := c.getJSON(ctx, req, &res); err != nil {
		return "", err
	}
	if !res.Success || res.ID == nil {
		if len(res.Errors) > 0 {
			return "", recordError(res.Errors[0])
		}
		return "", fault.New(fault.Permanent, "UNKNOWN", "upload refused without a reason")
	}
	return *res.ID, nil
}
