package fakesalesforce

import "sync/atomic"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idGen makes 18-character Salesforce ids: a 3-character key prefix, a
// counter, and the case-safe 3-character suffix real ids carry.
type idGen struct{ n atomic.Int64 }

func (g *idGen) next(prefix string) string {
	n := g.n.Add(1)
	body := make([]byte, 10)
	for i := len(body) - 1; i >= 0; i-- {
		body[i] = base62[n%62]
		n /= 62
	}
	id := prefix + "Dn" + string(body)
	return id + caseSuffix(id)
}

// caseSuffix computes the 3 characters that make a 15-character id unique
// without regard to case.
func caseSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	out := make([]byte, 3)
	for chunk := 0; chunk < 3; chunk++ {
		bits := 0
		for i := 0; i < 5; i++ {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				bits |= 1 << i
			}
		}
		out[chunk] = alphabet[bits]
	}
	return string(out)
}
