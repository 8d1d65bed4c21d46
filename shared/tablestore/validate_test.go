package tablestore

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateTable(t *testing.T) {
	tests := []struct {
		name  string
		table string
		ok    bool
	}{
		{"shortest", "abc", true},
		{"longest", "a" + strings.Repeat("b", 62), true},
		{"mixed case and digits", "SyncState2", true},
		{"too short", "ab", false},
		{"too long", "a" + strings.Repeat("b", 63), false},
		{"leading digit", "1abc", false},
		{"underscore", "ab_c", false},
		{"reserved", "Tables", false},
		{"non-ASCII letter", "abé", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validateTable(tc.table)
			if got := err == nil; got != tc.ok {
				t.Errorf("validateTable(%q) = %v, want ok=%v", tc.table, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, k := range [][2]string{{"", ""}, {"p", "r"}, {"it's", "é/#?"}} {
		pk, rk, err := decodeCursor(encodeCursor(k[0], k[1]))
		if err != nil || pk != k[0] || rk != k[1] {
			t.Errorf("round trip of %q = %q, %q, %v", k, pk, rk, err)
		}
	}
	for _, bad := range []string{"%%%", "e30", "bm90IGpzb24"} { // not base64, {} (no version), "not json"
		if _, _, err := decodeCursor(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("decodeCursor(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// Azure (unlike Azurite) sends no Content-ID in a failed changeset; the index
// is only in the message text.
func TestParseBatchResponseAzureFailure(t *testing.T) {
	body := "--batchresponse_1\r\n" +
		"Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
		"--changesetresponse_2\r\n" +
		"Content-Type: application/http\r\n" +
		"Content-Transfer-Encoding: binary\r\n\r\n" +
		"HTTP/1.1 412 Precondition Failed\r\n" +
		"Content-Type: application/json;odata=minimalmetadata;streaming=true;charset=utf-8\r\n\r\n" +
		`{"odata.error":{"code":"UpdateConditionNotSatisfied","message":{"lang":"en-US","value":"7:The update condition specified in the request was not satisfied.\nRequestId:x\nTime:2026-05-01T00:00:00Z"}}}` + "\r\n" +
		"--changesetresponse_2--\r\n" +
		"--batchresponse_1--\r\n"
	subs, err := parseBatchResponse("multipart/mixed; boundary=batchresponse_1", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 {
		t.Fatalf("got %d parts, want 1", len(subs))
	}
	err = batchFailure(subs[0], 10)
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 7 || !errors.Is(err, ErrPrecondition) {
		t.Errorf("batchFailure = %v, want BatchError at index 7 wrapping ErrPrecondition", err)
	}
}

func TestDecodeEDM(t *testing.T) {
	tests := []struct {
		name string
		edm  string
		raw  string
		want any
	}{
		{"unannotated integer is Int32", "", "7", int64(7)},
		{"unannotated fraction is Double", "", "3.5", 3.5},
		{"Double written with .0", "", "3.0", 3.0},
		{"annotated Double without fraction", "Edm.Double", "3", 3.0},
		{"Int64 as string", "Edm.Int64", `"9007199254740993"`, int64(9007199254740993)},
		{"Binary", "Edm.Binary", `"AP8="`, []byte{0, 0xff}},
		{"Guid as string", "Edm.Guid", `"c9da6455-213d-42c9-9a79-3e9149a57833"`, "c9da6455-213d-42c9-9a79-3e9149a57833"},
		{"bool", "", "true", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeEDM(tc.edm, []byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decodeEDM(%s, %s) (-want +got):\n%s", tc.edm, tc.raw, diff)
			}
		})
	}
}
