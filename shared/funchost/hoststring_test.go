package funchost

import (
	"bytes"
	"testing"
)

func TestHostStringRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantRaw bool // sent as it is, not base64
	}{
		{"json object", []byte(`{"userId":"u-1"}`), true},
		{"plain word that is base64", []byte("test"), false},
		{"hex-looking text", []byte("abcd1234"), false},
		{"html", []byte("<p>ok</p>"), true},
		{"words that strip to base64", []byte("not found"), false},
		{"sentence", []byte("not found."), true},
		{"binary", []byte{0, 1, 2, 0xff}, false},
		{"empty", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := EncodeHostString(tt.in)
			if raw := sent == string(tt.in); raw != tt.wantRaw {
				t.Errorf("EncodeHostString(%q) = %q; sent raw = %v, want %v", tt.in, sent, raw, tt.wantRaw)
			}
			// What the host does with it:
			got := []byte(sent)
			if decoded, ok := DecodeHostString(sent); ok {
				got = decoded
			}
			if !bytes.Equal(got, tt.in) && !(len(got) == 0 && len(tt.in) == 0) {
				t.Errorf("host ends up with %q, want %q", got, tt.in)
			}
		})
	}
}

func TestRoutePatterns(t *testing.T) {
	tests := []struct {
		route   string
		want    []string
		wantErr bool
	}{
		{"notifications", []string{"/api/notifications"}, false},
		{"items/{id}", []string{"/api/items/{id}"}, false},
		{"t/{token:alpha}", []string{"/api/t/{token}"}, false},
		{"dashboard/{*path}", []string{"/api/dashboard/{path...}", "/api/dashboard"}, false},
		{"items/{id?}", []string{"/api/items/{id...}", "/api/items"}, false},
		{"", nil, true},
		{"a{b}", nil, true},
		{"{*x}/y", nil, true},
		{"a/{}", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			got, err := RoutePatterns("api", tt.route)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
