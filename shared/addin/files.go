package addin

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxChatter caps a Chatter post's text (Salesforce's own limit is 10,000
// characters).
const maxChatter = 10000

// FileAnswer is the id of an uploaded file.
type FileAnswer struct {
	FileID string `json:"fileId"`
}

// uploadFile answers POST /records/{id}/files: a multipart/form-data body
// whose part "file" (with a filename) is streamed to the CRM, never stored.
// The file's size is unknown until its part ends, so the CRM gets size -1
// and the limit is enforced while streaming.
func (a *API) uploadFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !pathID(id) {
		writeError(w, http.StatusBadRequest, "bad_id", "not a record id")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeError(w, http.StatusUnsupportedMediaType, "not_multipart", "upload the file as multipart/form-data")
		return
	}
	if r.ContentLength > a.cfg.MaxUpload+64<<10 {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the file is larger than the upload limit")
		return
	}
	// The multipart framing adds a little; the file itself is limited below.
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxUpload+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_multipart", "the multipart body cannot be read")
		return
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "no_file", `the body has no part named "file"`)
			return
		}
		if err != nil {
			a.uploadReadError(w, err)
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		name := cleanFileName(part.FileName())
		if name == "" {
			writeError(w, http.StatusBadRequest, "no_name", "the file part needs a filename")
			return
		}
		crm, ok := a.openCRM(w, r)
		if !ok {
			return
		}
		lr := &limitedReader{r: part, left: a.cfg.MaxUpload}
		fileID, err := crm.AttachFile(r.Context(), id, name, -1, lr)
		if lr.over {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the file is larger than the upload limit")
			return
		}
		if lr.err != nil {
			a.uploadReadError(w, lr.err)
			return
		}
		if err != nil {
			a.crmError(w, r, "upload", err)
			return
		}
		writeJSON(w, http.StatusCreated, FileAnswer{FileID: fileID})
		return
	}
}

func (a *API) uploadReadError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the file is larger than the upload limit")
		return
	}
	writeError(w, http.StatusBadRequest, "bad_multipart", "the upload was cut short or malformed")
}

// limitedReader fails once more than left bytes were read, remembering why,
// so an oversize file is an error rather than a silently truncated one.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
}

var errTooLarge = errors.New("addin: file exceeds the upload limit")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, errTooLarge
	}
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return n, err
}

// cleanFileName keeps the last path element of a client file name.
func cleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || len(name) > 255 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return name
}

// ChatterRequest is a post to a record's Chatter feed.
type ChatterRequest struct {
	Text string `json:"text"`
}

// ChatterAnswer is the id of the post.
type ChatterAnswer struct {
	PostID string `json:"postId"`
}

// chatter answers POST /records/{id}/chatter.
func (a *API) chatter(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !pathID(id) {
		writeError(w, http.StatusBadRequest, "bad_id", "not a record id")
		return
	}
	var req ChatterRequest
	if !readJSON(w, r, &req) {
		return
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(req.Text)); {
	case n == 0:
		writeError(w, http.StatusBadRequest, "no_text", "the post needs text")
		return
	case n > maxChatter:
		writeError(w, http.StatusBadRequest, "long_text", "a post holds at most 10000 characters")
		return
	}
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	postID, err := crm.PostChatter(r.Context(), id, req.Text)
	if err != nil {
		a.crmError(w, r, "chatter", err)
		return
	}
	writeJSON(w, http.StatusCreated, ChatterAnswer{PostID: postID})
}
