package wire

import (
	"math/rand/v2"
	"testing"
)

// plain8 agrees with reading the bytes one by one: every byte value in
// every position among plain bytes, and random words.
func TestPlain8(t *testing.T) {
	plain := func(b []byte) bool {
		for _, c := range b {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return false
			}
		}
		return true
	}
	check := func(b []byte) {
		if got, want := plain8(b), plain(b); got != want {
			t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
		}
	}
	for pos := range 8 {
		for v := range 256 {
			b := []byte("node-0a.")
			b[pos] = byte(v)
			check(b)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				b[i] = byte(0x20 + rng.IntN(0x60)) // mostly plain
			}
		}
		check(b[:])
	}
}
