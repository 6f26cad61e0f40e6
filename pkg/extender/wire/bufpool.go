package wire

import (
	"io"
	"sync"
)

// maxPooledBuffer bounds the buffers kept for reuse: a body of 10,000 node
// names is ~150 KiB, while a call with whole Node objects can be tens of
// MiB and is better given back to the garbage collector.
const maxPooledBuffer = 4 << 20

// BufferPool lends byte slices for request bodies and answers, so that
// filter and prioritize at thousands of nodes do not hand the garbage
// collector a few hundred KiB per call.
type BufferPool struct{ p sync.Pool }

// Get lends a buffer, empty; a nil pool makes a small one.
func (bp *BufferPool) Get() *[]byte {
	if bp == nil {
		b := make([]byte, 0, 256)
		return &b
	}
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// Put gives a buffer back; one grown beyond maxPooledBuffer, or given to
// a nil pool, is left to the garbage collector.
func (bp *BufferPool) Put(b *[]byte) {
	if bp == nil || cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bp.p.Put(b)
}

// ReadAll appends all of r to b[:0].
func ReadAll(r io.Reader, b []byte) ([]byte, error) {
	b = b[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
