package wire

import (
	"strings"
	"sync"
	"sync/atomic"
)

// maxPooledNames bounds the name arrays kept for reuse, as maxPooledBuffer
// bounds the buffers.
const maxPooledNames = 1 << 16

// NamesPool lends arrays of node names to DecodeExtenderArgsWith: at
// 5,000 candidates an array is 80 KiB per call.
type NamesPool struct{ p sync.Pool }

// Get lends an array.
func (np *NamesPool) Get() *[]string {
	if n, ok := np.p.Get().(*[]string); ok {
		return n
	}
	return new([]string)
}

// Put gives an array back; nothing may use it afterwards. One grown beyond
// maxPooledNames is left to the garbage collector.
func (np *NamesPool) Put(n *[]string) {
	if cap(*n) > maxPooledNames {
		return
	}
	// The names must not outlive the call that decoded them.
	clear((*n)[:cap(*n)])
	*n = (*n)[:0]
	np.p.Put(n)
}

// NameTable interns node names across calls: kube-scheduler sends the same
// few thousand names in every call, and a string of its own for each, or
// one copy of the body to cut them from, is tens of KiB of garbage per
// call. Decoding looks each name up without allocating and allocates only
// the names it has not met. Safe for concurrent use; the zero value is
// ready.
type NameTable struct {
	// known is read without locks; it is replaced, never changed.
	known atomic.Pointer[map[string]string]
	mu    sync.Mutex // serialises replacing known
}

// snapshot is the table as it is now, for one call's lookups: a map from
// each name to the table's string of it.
func (t *NameTable) snapshot() map[string]string {
	if m := t.known.Load(); m != nil {
		return *m
	}
	return nil
}

// learn adds the names of a call that met some the table lacked. A table
// grown beyond twice this call's names and a thousand more (nodes come and
// go) starts again from this call's names, so it holds at most a few
// calls' worth of names that no call sends any more.
func (t *NameTable) learn(names []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snapshot()
	keep := len(old) <= 2*len(names)+1000
	next := make(map[string]string, len(names)+len(old))
	if keep {
		for k, v := range old {
			next[k] = v
		}
	}
	// The new names side by side in one string: a lookup compares the
	// name with its key's bytes, and thousands of keys in a few pages
	// stay in the processor's cache where thousands of small strings
	// across the heap do not.
	var fresh []string
	size := 0
	for _, n := range names {
		if _, ok := next[n]; !ok {
			next[n] = ""
			fresh = append(fresh, n)
			size += len(n)
		}
	}
	var all strings.Builder
	all.Grow(size)
	for _, n := range fresh {
		all.WriteString(n)
	}
	joined, at := all.String(), 0
	for _, n := range fresh {
		s := joined[at : at+len(n)]
		at += len(n)
		delete(next, n)
		next[s] = s
	}
	t.known.Store(&next)
}
