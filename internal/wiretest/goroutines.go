package wiretest

import (
	"runtime"
	"testing"
	"time"
)

// Goroutines is the count a leak check starts from, after a collection so
// that finished goroutines are gone.
func Goroutines() int {
	runtime.GC()
	return runtime.NumGoroutine()
}

// Settle waits, at most 15 seconds, until the goroutine count is back to
// base: servers and connections that were closed must have ended. It fails
// the test with every goroutine's stack when they have not.
func Settle(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := Goroutines()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, %d before the test:\n%s", n, base, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
