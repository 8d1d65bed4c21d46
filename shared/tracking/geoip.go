package tracking

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP places addresses with a MaxMind GeoLite2 (or GeoIP2) City or
// Country database file, read once into memory. It implements Geo and
// CityGeo; the address never leaves memory.
type GeoIP struct {
	db *maxminddb.Reader
}

// CityGeo is a Geo that also names the city (an optional ability, found by
// type assertion): open events then record it too.
type CityGeo interface {
	Geo
	City(ip netip.Addr) (city string, ok bool)
}

// geoRecord is the part of a GeoLite2 City record that is read.
type geoRecord struct {
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
}

// OpenGeoIP opens a MaxMind DB file; an unreadable or malformed file is an
// error naming it, so a bad setting stops the service at start.
func OpenGeoIP(path string) (*GeoIP, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tracking: GeoIP database %s: %w", path, err)
	}
	return &GeoIP{db: db}, nil
}

// Close releases the database.
func (g *GeoIP) Close() error { return g.db.Close() }

func (g *GeoIP) lookup(ip netip.Addr) (geoRecord, bool) {
	var rec geoRecord
	res := g.db.Lookup(ip)
	if err := res.Decode(&rec); err != nil || !res.Found() {
		return geoRecord{}, false
	}
	return rec, true
}

// Place returns the country's ISO code and the first subdivision's (region).
func (g *GeoIP) Place(ip netip.Addr) (country, region string, ok bool) {
	rec, found := g.lookup(ip)
	if !found || rec.Country.ISOCode == "" {
		return "", "", false
	}
	if len(rec.Subdivisions) > 0 {
		region = rec.Subdivisions[0].ISOCode
	}
	return rec.Country.ISOCode, region, true
}

// City returns the city's English name.
func (g *GeoIP) City(ip netip.Addr) (string, bool) {
	rec, found := g.lookup(ip)
	if !found || rec.City.Names["en"] == "" {
		return "", false
	}
	return rec.City.Names["en"], true
}
