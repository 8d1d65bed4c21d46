package fakec4c

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// maxBody bounds a request body (and a $batch part's).
const maxBody = 32 << 20

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

// batch answers a $batch (DEVGUIDE "$batch"): GETs outside changesets,
// writes inside changesets, each changeset one transaction that fails as a
// whole and then answers one error part in its place (OData v2 batch rules).
func (s *Server) batch(r *http.Request) reply {
	base := "http://" + r.Host + Root
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return errReply(errf(400, "", "$batch needs Content-Type multipart/mixed with a boundary"))
	}
	mr := multipart.NewReader(io.LimitReader(r.Body, maxBody), params["boundary"])
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errReply(errf(400, "", "malformed $batch body: %v", err))
		}
		pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch pt {
		case "application/http":
			req, e := readInner(part)
			if e != nil {
				return errReply(e)
			}
			if req.method != http.MethodGet {
				return errReply(errf(400, "", "%s outside a changeset; writes must be in a changeset", req.method))
			}
			writeHTTPPart(mw, s.do(req.method, req.path, req.query, req.header, nil, base))
		case "multipart/mixed":
			reps, e := s.changeset(multipart.NewReader(part, pp["boundary"]), base)
			if e != nil {
				return errReply(e)
			}
			if len(reps) == 1 && reps[0].status >= 400 {
				writeHTTPPart(mw, reps[0])
				continue
			}
			var cs bytes.Buffer
			cw := multipart.NewWriter(&cs)
			for _, rep := range reps {
				writeHTTPPart(cw, rep)
			}
			_ = cw.Close()
			h := textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}}
			w, _ := mw.CreatePart(h)
			_, _ = w.Write(cs.Bytes())
		default:
			return errReply(errf(400, "", "unexpected $batch part type %q", pt))
		}
	}
	_ = mw.Close()
	return reply{status: http.StatusAccepted, header: http.Header{"Content-Type": {"multipart/mixed; boundary=" + mw.Boundary()}}, body: out.Bytes()}
}

// undo is how to restore one record if its changeset fails.
type undo struct {
	coll, id string
	prev     *entity
}

// changeset runs the writes of one changeset; on the first failure it rolls
// back the ones before and returns that failure alone.
func (s *Server) changeset(mr *multipart.Reader, base string) ([]reply, *odataErr) {
	var reps []reply
	var undos []undo
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return reps, nil
		}
		if err != nil {
			return nil, errf(400, "", "malformed changeset: %v", err)
		}
		req, e := readInner(part)
		if e != nil {
			return nil, e
		}
		if req.method == http.MethodGet {
			return nil, errf(400, "", "GET inside a changeset")
		}
		coll, key, _, pe := parsePath(req.path)
		if pe == nil {
			undos = append(undos, undo{coll: coll.name, id: key, prev: s.data[coll.name][key]})
		} else if u, ok := s.undoFor(req.method, req.path, req.body); ok {
			undos = append(undos, u)
		}
		rep := s.do(req.method, req.path, req.query, req.header, req.body, base)
		if rep.status == 201 && pe == nil {
			undos[len(undos)-1].id = strings.TrimSuffix(strings.TrimPrefix(rep.header.Get("location"), base+coll.name+"('"), "')")
		}
		if id := req.header.Get("Content-ID"); id != "" {
			rep.header.Set("Content-ID", id)
		}
		if rep.status >= 400 {
			for i := len(undos) - 1; i >= 0; i-- {
				u := undos[i]
				if u.prev == nil {
					delete(s.data[u.coll], u.id)
				} else {
					s.data[u.coll][u.id] = u.prev
				}
			}
			return []reply{rep}, nil
		}
		reps = append(reps, rep)
	}
}

type innerReq struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

// readInner reads an application/http part: request line, headers, body.
func readInner(part io.Reader) (innerReq, *odataErr) {
	br := bufio.NewReader(part)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return innerReq{}, errf(400, "", "malformed $batch request line")
	}
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/") {
		return innerReq{}, errf(400, "", "malformed $batch request line %q", line)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return innerReq{}, errf(400, "", "malformed $batch part headers")
	}
	body, _ := io.ReadAll(io.LimitReader(br, maxBody))
	path, rawq, _ := strings.Cut(strings.TrimPrefix(f[1], "/"), "?")
	path = strings.TrimSuffix(path, "/")
	q, err := url.ParseQuery(rawq)
	if err != nil {
		return innerReq{}, errf(400, "", "query strings inside $batch must be URL-encoded: %v", err)
	}
	return innerReq{method: f[0], path: path, query: q, header: http.Header(h), body: bytes.TrimSpace(body)}, nil
}

func writeHTTPPart(mw *multipart.Writer, rep reply) {
	w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}})
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", rep.status, http.StatusText(rep.status))
	for k, v := range rep.header {
		for _, x := range v {
			fmt.Fprintf(w, "%s: %s\r\n", k, x)
		}
	}
	fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(rep.body))
	_, _ = w.Write(rep.body)
}
