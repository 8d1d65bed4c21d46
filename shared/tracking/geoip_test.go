package tracking

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The tests build a tiny MaxMind DB file themselves, following the format
// (maxmind.github.io/MaxMind-DB): a binary search tree of 24-bit records,
// 16 zero bytes, a data section of typed values, then the metadata after
// "\xAB\xCD\xEFMaxMind.com". One IPv4 network maps to one City record.

func mmdbCtrl(typ, size int) []byte {
	var b []byte
	ext := 0
	if typ > 7 {
		ext, typ = typ-7, 0
	}
	switch {
	case size < 29:
		b = []byte{byte(typ<<5 | size)}
	case size < 29+256:
		b = []byte{byte(typ<<5 | 29), byte(size - 29)}
	default:
		panic("mmdb test writer: value too long")
	}
	if ext != 0 {
		b = append(b[:1], append([]byte{byte(ext)}, b[1:]...)...)
	}
	return b
}

// mmdbValue encodes string, uint (as uint32), []any (array) and
// map[string]any (keys sorted).
func mmdbValue(v any) []byte {
	switch x := v.(type) {
	case string:
		return append(mmdbCtrl(2, len(x)), x...)
	case uint:
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(x))
		return append(mmdbCtrl(6, 4), n[:]...)
	case uint16:
		return append(mmdbCtrl(5, 2), byte(x>>8), byte(x))
	case []any:
		out := mmdbCtrl(11, len(x))
		for _, e := range x {
			out = append(out, mmdbValue(e)...)
		}
		return out
	case map[string]any:
		out := mmdbCtrl(7, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, mmdbValue(k)...)
			out = append(out, mmdbValue(x[k])...)
		}
		return out
	}
	panic("mmdb test writer: unsupported value")
}

// writeCityDB writes an IPv4 database in which prefix maps to rec.
func writeCityDB(t *testing.T, prefix netip.Prefix, rec map[string]any) string {
	t.Helper()
	bits := prefix.Bits()
	nodes := bits
	addr := prefix.Addr().As4()
	var tree bytes.Buffer
	put24 := func(v int) { tree.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)}) }
	for i := range bits {
		bit := addr[i/8] >> (7 - i%8) & 1
		next := i + 1
		if i == bits-1 {
			next = nodes + 16 // the data section's first value
		}
		left, right := nodes, nodes // nodes = "no data"
		if bit == 0 {
			left = next
		} else {
			right = next
		}
		put24(left)
		put24(right)
	}
	var file bytes.Buffer
	file.Write(tree.Bytes())
	file.Write(make([]byte, 16))
	file.Write(mmdbValue(rec))
	file.WriteString("\xAB\xCD\xEFMaxMind.com")
	file.Write(mmdbValue(map[string]any{
		"node_count": uint(nodes), "record_size": uint16(24), "ip_version": uint16(4),
		"database_type": "GeoLite2-City", "languages": []any{"en"},
		"binary_format_major_version": uint16(2), "binary_format_minor_version": uint16(0),
		"build_epoch": uint(1_700_000_000), "description": map[string]any{"en": "crmsync test"},
	}))
	path := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGeoIPPlacesCity: a GeoLite2 City file places an address of its
// network at country, region and city; another address is not placed; a
// file that is no MaxMind DB is refused by name.
func TestGeoIPPlacesCity(t *testing.T) {
	path := writeCityDB(t, netip.MustParsePrefix("203.0.113.0/24"), map[string]any{
		"city":         map[string]any{"names": map[string]any{"en": "Berlin", "de": "Berlin"}},
		"country":      map[string]any{"iso_code": "DE", "names": map[string]any{"en": "Germany"}},
		"subdivisions": []any{map[string]any{"iso_code": "BE", "names": map[string]any{"en": "Land Berlin"}}},
	})
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	in := netip.MustParseAddr("203.0.113.77")
	if c, r, ok := g.Place(in); !ok || c != "DE" || r != "BE" {
		t.Errorf("Place(%v) = %q %q %v, want DE BE", in, c, r, ok)
	}
	if city, ok := g.City(in); !ok || city != "Berlin" {
		t.Errorf("City(%v) = %q %v, want Berlin", in, city, ok)
	}
	out := netip.MustParseAddr("198.51.100.1")
	if _, _, ok := g.Place(out); ok {
		t.Errorf("an address outside the file's networks was placed")
	}
	bad := filepath.Join(t.TempDir(), "not.mmdb")
	os.WriteFile(bad, []byte("hello"), 0o600)
	if _, err := OpenGeoIP(bad); err == nil || !bytes.Contains([]byte(err.Error()), []byte(bad)) {
		t.Errorf("a file that is no database: %v, want an error naming it", err)
	}
}

// TestPixelRecordsCityWithGeoIP: with a GeoLite2 file configured, a human
// open is placed down to the city; a machine open (an image proxy's
// address says where the proxy is) is not placed at all.
func TestPixelRecordsCityWithGeoIP(t *testing.T) {
	path := writeCityDB(t, netip.MustParsePrefix("203.0.113.0/24"), map[string]any{
		"city":    map[string]any{"names": map[string]any{"en": "Munich"}},
		"country": map[string]any{"iso_code": "DE"},
	})
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f := newFixture(t, func(c *Config) { c.Geo = g })
	a := f.mint(t, "u1", "AAMkMsg1=", 1)
	f.clock.Add(time.Hour)
	f.fetch("GET", a.Token, "203.0.113.9", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Outlook 16.0.17928")
	st, err := f.tr.stats(context.Background(), a.Token, time.Time{}, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Events) != 1 || st.Events[0].City != "Munich" || st.Events[0].Country != "DE" || st.Events[0].Kind != Human {
		t.Fatalf("events %+v, want one human open in Munich", st.Events)
	}
}
