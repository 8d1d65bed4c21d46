package lambdaadapter

import (
	"testing"
	"time"
)

// TestSignV4KnownAnswers checks the signer against AWS's Signature Version 4
// test suite (get-vanilla and get-vanilla-query-order-key-case), whose
// signatures are published.
func TestSignV4KnownAnswers(t *testing.T) {
	creds := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	headers := map[string]string{"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
	tests := []struct {
		name, query, wantSig string
	}{
		{"get-vanilla", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := signV4("GET", "/", tt.query, headers, nil, creds, "us-east-1", "service", at)
			want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + tt.wantSig
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
