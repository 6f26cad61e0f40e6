package wire

import (
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
	"unicode/utf8"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// Answer is a verb's answer that writes its own JSON: filter's and
// prioritize's, thousands of nodes long, which encoding/json would walk by
// reflection and (for filter's reasons) sort.
type Answer interface {
	// appendJSON appends the answer as encoding/json's Encoder writes it,
	// newline included, except that map members come in no particular
	// order (kube-scheduler decodes them into maps). Two keys that differ
	// only in bytes that are not UTF-8 are written as one name, as with
	// encoding/json; which value a reader keeps then depends on that order.
	AppendJSON(dst []byte) ([]byte, error)
}

var (
	_ Answer = FilterAnswer{}
	_ Answer = OutcomeAnswer{}
	_ Answer = PriorityAnswer(nil)
)

// FilterAnswer is filter's answer.
type FilterAnswer struct {
	Result *extenderv1.ExtenderFilterResult
}

// FilterOutcome is filter's verdict on every candidate before it is put in
// the wire type, as OutcomeAnswer writes it out.
type FilterOutcome interface {
	// Result is the outcome in the wire type.
	Result() *extenderv1.ExtenderFilterResult
	// Candidates are the candidates' names, in the call's order, when the
	// answer names its nodes; false when the call failed or came with
	// whole Node objects, and the answer is Result's.
	Candidates() ([]string, bool)
	// Fits tells whether candidate i fits.
	Fits(i int) bool
	// Refusal is why candidate i does not fit, as its node's name and the
	// rest of the reason; refused is false when it fits.
	Refusal(i int) (node, rest string, resolvable, refused bool)
}

// OutcomeAnswer is filter's answer written from its outcome: what
// FilterAnswer would write for the outcome's result, without that result's
// maps and joined reasons.
type OutcomeAnswer struct{ Outcome FilterOutcome }

// PriorityAnswer is prioritize's answer.
type PriorityAnswer extenderv1.HostPriorityList

func (a FilterAnswer) AppendJSON(dst []byte) ([]byte, error) {
	if a.Result == nil {
		return append(dst, "null\n"...), nil
	}
	// The member names are the type's field names: it has no json tags.
	dst = append(dst, `{"Nodes":`...)
	if a.Result.Nodes == nil {
		dst = append(dst, "null"...)
	} else {
		// Whole Node objects only without nodeCacheCapable, where the
		// request already cost as much: encoding/json does them.
		nodes, err := json.Marshal(a.Result.Nodes)
		if err != nil {
			return dst, err
		}
		dst = append(dst, nodes...)
	}
	dst = append(dst, `,"NodeNames":`...)
	if a.Result.NodeNames == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONStrings(dst, *a.Result.NodeNames)
	}
	dst = append(dst, `,"FailedNodes":`...)
	dst = appendJSONStringMap(dst, a.Result.FailedNodes)
	dst = append(dst, `,"FailedAndUnresolvableNodes":`...)
	dst = appendJSONStringMap(dst, a.Result.FailedAndUnresolvableNodes)
	dst = append(dst, `,"Error":`...)
	dst = appendJSONString(dst, a.Result.Error)
	return append(dst, "}\n"...), nil
}

func (a OutcomeAnswer) AppendJSON(dst []byte) ([]byte, error) {
	return AppendOutcome(dst, a.Outcome)
}

// AppendOutcome appends filter's answer written from its outcome, as
// OutcomeAnswer does: for a caller whose own Answer holds the outcome as a
// pointer, which an interface holds without allocating.
func AppendOutcome(dst []byte, o FilterOutcome) ([]byte, error) {
	return AppendOutcomeWith(dst, o, nil)
}

// minPartNames is the fewest candidates worth a goroutine of their own when
// an answer is written in parts.
const minPartNames = 1024

// AppendOutcomeWith is AppendOutcome that writes the refusals of many
// candidates in parts, each a contiguous share of the candidates written
// by its own goroutine into a buffer lent by bufs, then joined in order:
// the same bytes. At thousands of candidates the refusals are most of the
// answer, and writing them was, after the checks themselves, the largest
// part of a call done on one core. A nil bufs writes on one goroutine.
func AppendOutcomeWith(dst []byte, o FilterOutcome, bufs *BufferPool) ([]byte, error) {
	names, ok := o.Candidates()
	if !ok {
		// An error, or whole Node objects: nothing to save.
		return FilterAnswer{o.Result()}.AppendJSON(dst)
	}
	dst = append(dst, `{"Nodes":null,"NodeNames":[`...)
	first := true
	for i, name := range names {
		if o.Fits(i) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, name)
		}
	}
	parts := 1
	if bufs != nil {
		parts = max(1, min(runtime.GOMAXPROCS(0), maxParts, len(names)/minPartNames))
	}
	if parts == 1 {
		// The unresolvable refusals are written apart, then copied after the
		// resolvable ones: one pass over the candidates.
		other := bufs.Get()
		defer bufs.Put(other)
		dst = append(dst, `],"FailedNodes":{`...)
		var w refusalWriter
		dst, *other = w.append(dst, *other, o, names, 0)
		dst = append(dst, `},"FailedAndUnresolvableNodes":{`...)
		dst = append(dst, *other...)
		return append(dst, `},"Error":""}`+"\n"...), nil
	}
	// Each part's resolvable and other refusals, in buffers of their own.
	var lent [2 * maxParts]*[]byte
	defer func() {
		for _, b := range lent[:2*parts] {
			bufs.Put(b)
		}
	}()
	size := (len(names) + parts - 1) / parts
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*size, min((p+1)*size, len(names))
		lent[2*p], lent[2*p+1] = bufs.Get(), bufs.Get()
		wg.Go(func() {
			var w refusalWriter
			*lent[2*p], *lent[2*p+1] = w.append(*lent[2*p], *lent[2*p+1], o, names[lo:hi], lo)
		})
	}
	wg.Wait()
	join := func(dst []byte, kind int) []byte {
		first := true
		for p := range parts {
			if b := *lent[2*p+kind]; len(b) > 0 {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, b...)
			}
		}
		return dst
	}
	dst = append(dst, `],"FailedNodes":{`...)
	dst = join(dst, 0)
	dst = append(dst, `},"FailedAndUnresolvableNodes":{`...)
	dst = join(dst, 1)
	return append(dst, `},"Error":""}`+"\n"...), nil
}

// maxParts bounds the goroutines that write one answer.
const maxParts = 8

// refusalWriter writes refusals as JSON object members from node name to
// reason, comma-separated, without the braces: the resolvable ones to one
// buffer, the others to another. A name given twice is written twice; a
// reader keeps one, as the map would have.
//
// Node after node, a reason is mostly the node's name and then the same
// rest (the verbs word alike nodes' refusals once): the name is escaped
// once for the key and its escaped bytes copied into the reason when the
// reason begins with it, and the rest is escaped the first time and its
// escaped bytes copied while it stays the same.
type refusalWriter struct {
	written       [2]bool   // per buffer, whether a refusal is in it
	last          [2]string // per buffer, the rest last escaped on its own
	lastAt, lastN [2]int    // where in that buffer its escaped bytes are
}

// append appends the refusals of names, candidates from index base on, to
// resolvable and other.
func (w *refusalWriter) append(resolvable, other []byte, o FilterOutcome, names []string, base int) ([]byte, []byte) {
	bufs := [2][]byte{resolvable, other}
	for i, name := range names {
		node, rest, r, refused := o.Refusal(base + i)
		if !refused {
			continue
		}
		k := 1
		if r {
			k = 0
		}
		dst := bufs[k]
		if w.written[k] {
			dst = append(dst, ',')
		}
		w.written[k] = true
		keyAt := len(dst) + 1
		dst = appendJSONString(dst, name)
		keyEnd := len(dst) - 1
		dst = append(dst, ':')
		switch {
		case !separable(node):
			dst = appendJSONString2(dst, node, rest)
			bufs[k] = dst
			continue
		case node == name:
			dst = append(dst, dst[keyAt-1:keyEnd]...) // the quote and the name
		default:
			dst = append(dst, '"')
			dst = appendJSONStringBody(dst, node)
		}
		if rest == w.last[k] && w.lastN[k] > 0 {
			dst = append(dst, dst[w.lastAt[k]:w.lastAt[k]+w.lastN[k]]...)
		} else {
			at := len(dst)
			dst = appendJSONStringBody(dst, rest)
			w.last[k], w.lastAt[k], w.lastN[k] = rest, at, len(dst)-at
		}
		bufs[k] = append(dst, '"')
	}
	return bufs[0], bufs[1]
}

// separable says whether a string followed by another can be escaped apart
// from it: escaping works rune by rune, and a rune is at most 4 bytes, so
// unless a's last 3 bytes may begin a rune that the next string's first
// bytes would complete.
func separable(a string) bool {
	for i := max(0, len(a)-(utf8.UTFMax-1)); i < len(a); i++ {
		if a[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (a PriorityAnswer) AppendJSON(dst []byte) ([]byte, error) {
	if a == nil {
		return append(dst, "null\n"...), nil
	}
	dst = append(dst, '[')
	for i := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"Host":`...)
		dst = appendJSONString(dst, a[i].Host)
		dst = append(dst, `,"Score":`...)
		dst = strconv.AppendInt(dst, a[i].Score, 10)
		dst = append(dst, '}')
	}
	return append(dst, "]\n"...), nil
}

// appendJSONStrings appends ss as a JSON array; nil is null, as
// encoding/json has it.
func appendJSONStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

// appendJSONStringMap appends m as a JSON object in map order; nil is null.
func appendJSONStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	first := true
	for k, v := range m {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, v)
	}
	return append(dst, '}')
}

// jsonSafe says whether an ASCII byte goes into a JSON string as it is.
// '<', '>' and '&' are escaped as encoding/json escapes them by default, so
// that the answer is byte for byte what it would write, but for the order
// of map members.
func jsonSafe(c byte) bool {
	return c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// jsonSafe8 says whether the 8 bytes of s all go into a JSON string as they
// are, a word at a time: node names and reasons are almost all plain ASCII,
// and a filter answer writes thousands of them.
func jsonSafe8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	_ = s[7]
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	// hasZero(v) is nonzero exactly when some byte of v is 0.
	hasZero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	bad := x&highs | // beyond ASCII
		(x-0x20*ones)&^x&highs | // control characters
		hasZero(x^('"'*ones)) | hasZero(x^('\\'*ones)) |
		hasZero(x^('<'*ones)) | hasZero(x^('>'*ones)) | hasZero(x^('&'*ones))
	return bad == 0
}

// appendJSONString2 appends a+b as one JSON string without joining them
// first, unless they cannot be escaped apart (separable).
func appendJSONString2(dst []byte, a, b string) []byte {
	if !separable(a) {
		return appendJSONString(dst, a+b)
	}
	dst = append(dst, '"')
	dst = appendJSONStringBody(dst, a)
	dst = appendJSONStringBody(dst, b)
	return append(dst, '"')
}

// appendJSONString appends s quoted as encoding/json quotes it: short
// escapes for '"', '\\' and \b \f \n \r \t, \u00XX for other control
// characters and for '<', '>' and '&', \ufffd for each byte that is not
// UTF-8, and \u2028 and \u2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONStringBody(dst, s)
	return append(dst, '"')
}

// appendJSONStringBody is appendJSONString without the quotes.
func appendJSONStringBody(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && jsonSafe8(s[i:i+8]) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe(c) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}
