package tablestore

import (
	"encoding/base64"
	"encoding/json"
)

// cursor is what a continuation token carries: where the next page starts.
// For Embedded these are the first keys of the next page; for Azure they are
// the service's NextPartitionKey and NextRowKey, which are opaque themselves.
type cursor struct {
	V  int    `json:"v"`
	PK string `json:"p"`
	RK string `json:"r"`
}

// cursorVersion lets a later format refuse tokens it cannot read.
const cursorVersion = 1

// encodeCursor makes an opaque, URL-safe continuation token.
func encodeCursor(pk, rk string) string {
	b, _ := json.Marshal(cursor{V: cursorVersion, PK: pk, RK: rk}) // cannot fail: two strings
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a token made by encodeCursor; anything else is ErrInvalid.
func decodeCursor(token string) (pk, rk string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", "", invalid("continuation token is not one this store issued")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.V != cursorVersion {
		return "", "", invalid("continuation token is not one this store issued")
	}
	return c.PK, c.RK, nil
}
