package wire

// Pending is the node names DecodeExtenderArgsWith left for its caller to
// read: their places in the body, which must stay unchanged until they are
// read. A server that looks every name up in its own table of nodes (the
// extender's state) reads the name's bytes there and takes the table's
// string, with no string made per name and no second lookup; the lookups
// then run where the server checks the nodes, in parallel.
type Pending struct {
	// Data is the body the spans are in.
	Data []byte
	// Spans are, by candidate index, where each name left empty in
	// NodeNames is in Data; a zero Span is a name decoded in NodeNames
	// (escaped, or empty). Fewer spans than names: none pending beyond.
	Spans []Span
}

// Span is where a name is in a body: Data[Start:End], quotes excluded.
type Span struct{ Start, End int32 }

// Name returns the bytes of name i when it is pending, else nil.
func (p *Pending) Name(i int) []byte {
	if p == nil || i >= len(p.Spans) {
		return nil
	}
	sp := p.Spans[i]
	if sp.End <= sp.Start {
		return nil
	}
	return p.Data[sp.Start:sp.End]
}

// Reset empties p for another call, keeping its spans' array.
func (p *Pending) Reset() {
	p.Data = nil
	p.Spans = p.Spans[:0]
}
