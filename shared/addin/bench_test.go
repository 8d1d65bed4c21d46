package addin

import (
	"fmt"
	"net/url"
	"testing"
)

// BenchmarkPeopleLookup measures a reading-pane lookup of N addresses and
// reports the CRM calls it costs: ⌈N/PeopleChunk⌉ FindPeople calls plus
// ⌈accounts/PeopleChunk⌉ Accounts calls.
func BenchmarkPeopleLookup(b *testing.B) {
	for _, n := range []int{1, 10, 100, 250, 500} {
		b.Run(fmt.Sprintf("addresses=%d", n), func(b *testing.B) {
			f := newFixture(b)
			q := url.Values{}
			for i := range n {
				addr := fmt.Sprintf("p%d@x.com", i)
				q.Add("email", addr)
				acct := fmt.Sprintf("001%012d", i%7)
				f.crm.people = append(f.crm.people, Person{Object: "Contact", ID: fmt.Sprintf("003%012d", i), Email: addr, AccountID: acct})
				f.crm.accounts[acct] = Account{ID: acct}
			}
			path := Prefix + "/people?" + q.Encode()
			b.ReportAllocs()
			for b.Loop() {
				if rec := f.json("u1", "GET", path, ""); rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
			b.ReportMetric(float64(f.crm.count("FindPeople"))/float64(b.N), "findpeople/op")
			b.ReportMetric(float64(f.crm.count("Accounts"))/float64(b.N), "accounts/op")
		})
	}
}

// BenchmarkParseSignature measures the signature parser on a realistic
// signature.
func BenchmarkParseSignature(b *testing.B) {
	text := "Mit freundlichen Grüßen\n\nDr. Thomas Müller\nLeiter Vertrieb\n\nBeispiel Maschinenbau GmbH\nHauptstraße 12\nD-80331 München\nTel.: +49 89 123456-0\nFax: +49 89 123456-99\nMobil: +49 171 2345678\nwww.beispiel-maschinenbau.de\n"
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseSignature("Müller, Thomas", "t.mueller@beispiel-maschinenbau.de", text)
	}
}
