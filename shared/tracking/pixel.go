package tracking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// pixelGIF is a 1×1 transparent GIF89a: a two-colour global table, a graphic
// control extension marking colour 0 transparent, and one LZW-coded pixel.
var pixelGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a', 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x02, 0x44, 0x01, 0x00,
	0x3b,
}

var gifLength = strconv.Itoa(len(pixelGIF))

// pixel answers GET and HEAD /api/pixel/{token}.gif with the GIF, whatever
// the token: an unknown token looks exactly like a known one, so the pixel
// cannot be used to test tokens. A known token's open is recorded first;
// a storage failure is logged and never changes the answer.
func (t *Tracker) pixel(w http.ResponseWriter, r *http.Request) {
	if token, ok := strings.CutSuffix(r.PathValue("file"), ".gif"); ok && tokenShape.MatchString(token) {
		t.record(r.Context(), r, token)
	}
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Content-Length", gifLength)
	h.Set("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "0")
	h.Set("X-Content-Type-Options", "nosniff")
	// The pixel is an image with no links and no forms: it never makes a
	// request that could carry a referrer or need an Origin, so no-referrer
	// costs nothing here (unlike the dashboard pages, see webguard).
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(pixelGIF)
	}
}

// record stores one open of token, unless the same client fetched it within
// the dedupe window or the token had too many opens in it.
func (t *Tracker) record(ctx context.Context, r *http.Request, token string) {
	now := t.now()
	ip := t.clientIP(r)
	ua := r.UserAgent()
	if !t.limiter.allow(now, token, ip.String()+"\x00"+ua) {
		return
	}
	row, err := t.cfg.Store.Get(ctx, TokensTable, token, "t")
	if errors.Is(err, tablestore.ErrNotFound) {
		return
	}
	if err != nil {
		t.log.WarnContext(ctx, "pixel: token lookup failed", "err", err)
		return
	}
	sent, _ := row.Properties["Created"].(time.Time)
	v := Classify(Hit{Method: r.Method, UserAgent: ua, IP: ip, Sent: sent, At: now}, t.cfg.Networks, t.cfg.PrefetchWindow)
	props := map[string]any{"At": now.UTC(), "Client": v.Client, "Kind": string(v.Kind), "Reason": v.Reason}
	// A proxy's or a machine's address says where the proxy is, not the
	// reader, so only human opens are placed.
	if t.cfg.Geo != nil && v.Kind == Human && ip.IsValid() {
		if country, region, ok := t.cfg.Geo.Place(ip); ok {
			props["Country"], props["Region"] = country, region
		}
		if cg, ok := t.cfg.Geo.(CityGeo); ok {
			if city, ok := cg.City(ip); ok {
				props["City"] = city
			}
		}
	}
	e := tablestore.Entity{PartitionKey: token, RowKey: openKey(now), Properties: props}
	if _, err := t.cfg.Store.Insert(ctx, OpensTable, e); err != nil {
		t.log.WarnContext(ctx, "pixel: open not recorded", "err", err)
	}
}

// openKey orders events by time; the random suffix keeps two opens in the
// same nanosecond apart.
func openKey(at time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return at.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:])
}
