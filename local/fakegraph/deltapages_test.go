package fakegraph

import (
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDeltaRoundSkipsNothingWhenItemsGoMidRound: a contact deleted while a
// client pages through the first round must not shift the later pages. The
// round used to be recomputed for every page from the live list, so a
// deletion on an earlier page moved every later item one place forward and
// the first item of the next page was never reported (in this round or any
// later one, until it changed). It is reported now, and the deleted one as a
// tombstone (the next round reports its deletion too).
func TestDeltaRoundSkipsNothingWhenItemsGoMidRound(t *testing.T) {
	r := newRig(t, Options{})
	fid := r.create("me/contactFolders", map[string]any{"displayName": "Business Contacts"})
	var ids []string
	for i := range 7 {
		ids = append(ids, r.create("me/contactFolders/"+fid+"/contacts", map[string]any{"surname": fmt.Sprint("S", i)}))
	}
	link := "me/contactFolders/" + fid + "/contacts/delta"
	seen := map[string]int{}
	removed := map[string]bool{}
	for page := 0; link != ""; page++ {
		st, out, _ := r.do(http.MethodGet, link, nil, "odata.maxpagesize=3", `IdType="ImmutableId"`)
		if st != 200 {
			t.Fatalf("page %d: %d %v", page, st, out)
		}
		for _, v := range values(out) {
			id := v["id"].(string)
			seen[id]++
			if _, ok := v["@removed"]; ok {
				removed[id] = true
			}
		}
		if page == 0 {
			if st, _, _ := r.do(http.MethodDelete, "me/contacts/"+ids[1], nil); st != 204 {
				t.Fatalf("delete: %d", st)
			}
		}
		link, _ = out["@odata.nextLink"].(string)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("contact %s reported %d times in the round, want once", id, seen[id])
		}
	}
	if len(removed) != 0 {
		t.Errorf("tombstones %v in the round, want none (ids[1] was on the first page, served before it went)", removed)
	}
}

var deltaLarge = flag.Bool("fakegraph.large", false, "BenchmarkDeltaPages also at 50,000 contacts")

// BenchmarkDeltaPages pages through a first contacts delta round (pages of
// 50) at growing mailbox sizes and reports the time per page and its growth
// exponent over the sizes: about 0 when a page costs its own entries (the
// round is listed once, on its first page). Before, every page rendered the
// whole round: 1,000 contacts took 8.8 ms a page, 10,000 took 63 ms
// (exponent 0.86; 12.6 s for the 10,000-contact round). -fakegraph.large
// adds 50,000 contacts.
func BenchmarkDeltaPages(b *testing.B) {
	sizes := []int{1_000, 10_000}
	if *deltaLarge {
		sizes = append(sizes, 50_000)
	}
	perPage := map[int]float64{}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("contacts=%d", n), func(b *testing.B) {
			s := New(Options{})
			upn := "ada@contoso.test"
			id := s.AddMailbox(upn, "Ada")
			s.mu.Lock()
			m := s.mailboxes[id]
			folder := s.add(m, kContactFolder, "", map[string]any{"displayName": "Business Contacts"})
			for i := range n {
				s.add(m, kContact, folder.id, map[string]any{"givenName": "C", "surname": fmt.Sprint("S", i),
					"emailAddresses": []any{map[string]any{"address": fmt.Sprintf("c%d@acme.example", i)}}})
			}
			s.mu.Unlock()
			tok := s.Token(upn)
			get := func(u string) string {
				req := httptest.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Prefer", `IdType="ImmutableId"`)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("GET %s: %d %s", u, w.Code, w.Body.String())
				}
				body := w.Body.String()
				i := strings.Index(body, `"@odata.nextLink":"`)
				if i < 0 {
					return ""
				}
				rest := body[i+len(`"@odata.nextLink":"`):]
				return rest[:strings.IndexByte(rest, '"')]
			}
			pages := 0
			var elapsed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				link := "http://graph.local/v1.0/me/contactFolders/" + folder.id + "/contacts/delta"
				for link != "" {
					link = get(link)
					pages++
				}
				elapsed += time.Since(start)
			}
			if want := b.N * ((n + 49) / 50); pages != want {
				b.Fatalf("%d pages, want %d", pages, want)
			}
			ms := elapsed.Seconds() * 1000 / float64(pages)
			perPage[n] = ms
			b.ReportMetric(ms, "ms/page")
			if n != sizes[0] {
				b.ReportMetric(math.Log(ms/perPage[sizes[0]])/math.Log(float64(n)/float64(sizes[0])), "growth-exponent")
			}
			b.ReportMetric(float64(pages)/float64(b.N), "pages/round")
		})
	}
	if a, z := sizes[0], sizes[len(sizes)-1]; perPage[a] > 0 && perPage[z] > 0 {
		exp := math.Log(perPage[z]/perPage[a]) / math.Log(float64(z)/float64(a))
		fmt.Printf("BenchmarkDeltaPages: time per page grows as contacts^%.2f from %d to %d (%.3f → %.3f ms)\n", exp, a, z, perPage[a], perPage[z])
	}
}
