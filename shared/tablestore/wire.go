package tablestore

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Azure Table Storage JSON shapes. aztables hands entities over as bytes, but
// its GetEntity and query paths decode numbers into float64 and re-encode
// them, which turns the Edm.Double 3.0 into 3, indistinguishable from an
// Int32. The store therefore reads the raw response bodies (see
// captureBodyPolicy) and decodes them here.

// edmTime is the Edm.DateTime text form: seven fractional digits, UTC.
const edmTime = "2006-01-02T15:04:05.0000000Z"

// marshalEntity renders a normalized entity as Table Storage JSON with the
// type annotations Azure needs to keep Int64, Binary, DateTime and Double
// from being stored as strings or Int32.
func marshalEntity(e Entity) ([]byte, error) {
	m := make(map[string]any, 2+2*len(e.Properties))
	m[systemPartitionKey] = e.PartitionKey
	m[systemRowKey] = e.RowKey
	for name, v := range e.Properties {
		switch v := v.(type) {
		case string, bool:
			m[name] = v
		case int64:
			m[name] = strconv.FormatInt(v, 10)
			m[name+"@odata.type"] = "Edm.Int64"
		case float64:
			m[name] = json.Number(strconv.FormatFloat(v, 'g', -1, 64))
			m[name+"@odata.type"] = "Edm.Double"
		case []byte:
			m[name] = base64.StdEncoding.EncodeToString(v)
			m[name+"@odata.type"] = "Edm.Binary"
		case time.Time:
			m[name] = v.UTC().Format(edmTime)
			m[name+"@odata.type"] = "Edm.DateTime"
		default:
			return nil, fmt.Errorf("%w: property %q has unsupported type %T", ErrInvalid, name, v)
		}
	}
	return json.Marshal(m)
}

// unmarshalEntity decodes one entity object from a response body.
func unmarshalEntity(raw []byte) (Entity, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Entity{}, fmt.Errorf("tablestore: entity JSON: %w", err)
	}
	e := Entity{Properties: map[string]any{}}
	str := func(name string) (string, error) {
		var s string
		if v, ok := fields[name]; ok {
			if err := json.Unmarshal(v, &s); err != nil {
				return "", fmt.Errorf("tablestore: entity field %s: %w", name, err)
			}
		}
		return s, nil
	}
	var err error
	if e.PartitionKey, err = str(systemPartitionKey); err != nil {
		return Entity{}, err
	}
	if e.RowKey, err = str(systemRowKey); err != nil {
		return Entity{}, err
	}
	if e.ETag, err = str("odata.etag"); err != nil {
		return Entity{}, err
	}
	ts, err := str(systemTimestamp)
	if err != nil {
		return Entity{}, err
	}
	if ts != "" {
		if e.Timestamp, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return Entity{}, fmt.Errorf("tablestore: entity Timestamp: %w", err)
		}
	}
	for name, v := range fields {
		if strings.Contains(name, "@odata.") || strings.HasPrefix(name, "odata.") ||
			name == systemPartitionKey || name == systemRowKey || name == systemTimestamp {
			continue
		}
		edm, err := str(name + "@odata.type")
		if err != nil {
			return Entity{}, err
		}
		val, err := decodeEDM(edm, v)
		if err != nil {
			return Entity{}, fmt.Errorf("tablestore: entity property %q: %w", name, err)
		}
		e.Properties[name] = val
	}
	return e, nil
}

// decodeEDM turns one JSON value into the Go type the Store contract names.
// Unannotated numbers are Int32 (→ int64) unless written with a fraction or
// exponent, which only a double is.
func decodeEDM(edm string, raw json.RawMessage) (any, error) {
	var s string
	switch edm {
	case "Edm.Int64", "Edm.Int32":
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		return strconv.ParseInt(s, 10, 64)
	case "Edm.Double":
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		return strconv.ParseFloat(s, 64)
	case "Edm.Binary":
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(s)
	case "Edm.DateTime":
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err
	case "Edm.Guid", "Edm.String":
		err := json.Unmarshal(raw, &s)
		return s, err
	case "":
	default:
		return nil, fmt.Errorf("unsupported type %s", edm)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return v.Float64()
		}
		return v.Int64()
	case string, bool:
		return v, nil
	default:
		return nil, fmt.Errorf("unexpected JSON value %s", raw)
	}
}

// queryBody is the shape of a query response.
type queryBody struct {
	Value []json.RawMessage `json:"value"`
}

// subResponse is one operation's answer inside a batch response.
type subResponse struct {
	Status int
	ETag   string
	// Code and Message come from the odata.error body of a failed operation.
	Code    string
	Message string
	// ContentID is the 1-based operation number Azurite echoes; Azure names
	// the failed operation only in the message prefix "<index>:".
	ContentID int
}

// parseBatchResponse reads a $batch response body (multipart/mixed holding
// one changeset of application/http parts). Azure answers 202 even when the
// changeset failed; the failure is a single part with the real status.
func parseBatchResponse(contentType string, body []byte) ([]subResponse, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("batch response content type %q: no boundary", contentType)
	}
	outer := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var subs []subResponse
	for {
		part, err := outer.NextPart()
		if err == io.EOF {
			return subs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("batch response: %w", err)
		}
		ct := part.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "multipart/mixed") {
			data, err := io.ReadAll(part)
			if err != nil {
				return nil, fmt.Errorf("batch response changeset: %w", err)
			}
			inner, err := parseBatchResponse(ct, data)
			if err != nil {
				return nil, err
			}
			subs = append(subs, inner...)
			continue
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("batch response part: %w", err)
		}
		sub, err := parseSubResponse(data)
		if err != nil {
			return nil, err
		}
		if id, err := strconv.Atoi(part.Header.Get("Content-ID")); err == nil {
			sub.ContentID = id
		}
		subs = append(subs, sub)
	}
}

func parseSubResponse(data []byte) (subResponse, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
	if err != nil {
		return subResponse{}, fmt.Errorf("batch response operation: %w", err)
	}
	defer resp.Body.Close()
	sub := subResponse{Status: resp.StatusCode, ETag: resp.Header.Get("ETag")}
	if id, err := strconv.Atoi(resp.Header.Get("Content-ID")); err == nil {
		sub.ContentID = id
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Err struct {
				Code    string `json:"code"`
				Message struct {
					Value string `json:"value"`
				} `json:"message"`
			} `json:"odata.error"`
		}
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &e) == nil {
			sub.Code, sub.Message = e.Err.Code, e.Err.Message.Value
		}
	}
	return sub, nil
}

// failedIndex finds which operation a failed sub-response names: the
// "<index>:" prefix of the message (Azure and Azurite), else the Content-ID
// (1-based), else -1.
func (s subResponse) failedIndex() int {
	if i := strings.IndexByte(s.Message, ':'); i > 0 {
		if n, err := strconv.Atoi(s.Message[:i]); err == nil {
			return n
		}
	}
	if s.ContentID > 0 {
		return s.ContentID - 1
	}
	return -1
}
