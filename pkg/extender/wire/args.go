package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// DecodeExtenderArgs decodes a filter or prioritize body into args, taking
// and refusing exactly what json.Unmarshal would, with the same result:
// member names matched without regard to case, the last of a repeated
// member applied over the earlier ones, null clearing a field, unknown
// members skipped, nothing but space after the object. What it does
// itself is the node names, thousands of short strings that reflection
// would decode and allocate one by one; the pod and Node objects are
// handed to encoding/json, each as its own slice of the body.
//
// Every error wraps ErrBadRequest.
func DecodeExtenderArgs(data []byte, args *extenderv1.ExtenderArgs) error {
	return DecodeExtenderArgsWith(data, args, Reuse{})
}

// Reuse is what a server decoding call after call lends
// DecodeExtenderArgsWith so that a call allocates next to nothing for its
// thousands of node names. Either may be nil.
type Reuse struct {
	// Names, when args has no NodeNames yet, is the array the names are
	// decoded into (grown as needed, and left in *Names) instead of a new
	// one. args.NodeNames then points to Names, so it serves one call at a
	// time (NamesPool).
	Names *[]string
	// Pending, when set, takes the names: each name that decodes to its
	// own bytes (no escapes, valid UTF-8, not empty) is left empty in
	// NodeNames and its place in data recorded in Pending, for the caller
	// to read before it uses NodeNames. Its spans' array is reused.
	Pending *Pending
}

// DecodeExtenderArgsWith is DecodeExtenderArgs reusing what r lends; the
// arguments decoded are the same, once the names r.Pending holds are read
// into NodeNames.
func DecodeExtenderArgsWith(data []byte, args *extenderv1.ExtenderArgs, r Reuse) error {
	if r.Pending != nil {
		r.Pending.Reset()
	}
	s := wireScanner{data: data, reuse: r}
	s.skipSpace()
	switch s.peek() {
	case '{':
	case 'n':
		// null leaves args as they are, as with json.Unmarshal.
		if err := s.scanLiteral(); err != nil {
			return err
		}
		return s.end()
	case 0:
		return fmt.Errorf("%w: the body is empty; want a JSON object with Pod and NodeNames or Nodes", ErrBadRequest)
	default:
		kind := jsonKind(s.peek())
		if err := s.skipValue(0); err != nil {
			return err
		}
		return fmt.Errorf("%w: the body is a JSON %s; want an object with Pod and NodeNames or Nodes", ErrBadRequest, kind)
	}
	s.pos++
	s.skipSpace()
	if s.peek() == '}' {
		s.pos++
		return s.end()
	}
	var body string // the body as a string, made when a name is cut from it
	for {
		keyStart := s.pos
		plain, err := s.scanString()
		if err != nil {
			return err
		}
		field, err := argsField(data[keyStart:s.pos], plain)
		if err != nil {
			return err
		}
		s.skipSpace()
		if err := s.expect(':', "':' after an object key"); err != nil {
			return err
		}
		s.skipSpace()
		if field == "NodeNames" {
			err = s.decodeNodeNames(&args.NodeNames, &body)
		} else {
			valueStart := s.pos
			if err := s.skipValue(1); err != nil {
				return err
			}
			switch field {
			case "Pod":
				err = json.Unmarshal(data[valueStart:s.pos], &args.Pod)
			case "Nodes":
				err = json.Unmarshal(data[valueStart:s.pos], &args.Nodes)
			}
		}
		if errors.Is(err, ErrBadRequest) {
			return err
		}
		if err != nil {
			return fmt.Errorf("%w: member %s: %w", ErrBadRequest, field, err)
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
			s.skipSpace()
			continue
		case '}':
			s.pos++
			return s.end()
		}
		return s.syntaxError("',' or '}' after an object member")
	}
}

// end checks that nothing but space follows the document.
func (s *wireScanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.syntaxError("nothing after the JSON object")
	}
	return nil
}

// jsonKind names the kind of value that starts with c, for messages.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// argsFields are ExtenderArgs' members as the type names them (it has no
// json tags).
var argsFields = [...]string{"Pod", "Nodes", "NodeNames"}

// argsField is the field a member name (quotes included) stands for, ""
// for a member ExtenderArgs lacks. encoding/json matches names under
// Unicode simple case folding, which EqualFold is.
func argsField(quoted []byte, plain bool) (string, error) {
	name := quoted[1 : len(quoted)-1]
	if !plain {
		var s string
		if err := json.Unmarshal(quoted, &s); err != nil {
			return "", fmt.Errorf("%w: member name %s: %w", ErrBadRequest, quoted, err)
		}
		name = []byte(s)
	}
	for _, f := range argsFields {
		if bytes.EqualFold(name, []byte(f)) {
			return f, nil
		}
	}
	return "", nil
}

// decodeNodeNames decodes the value at the scanner's position into *dst
// as encoding/json decodes into a *[]string, checking its syntax on the
// way: null clears the pointer; an array's elements are written over the
// slice's earlier elements in place, growing it as needed, a null element
// leaving what was there (a repeated member can show the difference); an
// empty array leaves a fresh empty slice.
//
// The names are cut out of body, a string copy of the whole body made
// once: one allocation instead of one per node.
func (s *wireScanner) decodeNodeNames(dst **[]string, body *string) error {
	switch s.peek() {
	case 'n':
		if err := s.scanLiteral(); err != nil {
			return err
		}
		*dst = nil
		if p := s.reuse.Pending; p != nil {
			p.Reset()
		}
		return nil
	case '[':
	default:
		kind := jsonKind(s.peek())
		if err := s.skipValue(1); err != nil {
			return err
		}
		return fmt.Errorf("a JSON %s; want an array of node names or null", kind)
	}
	s.pos++
	pending := s.reuse.Pending
	if pending != nil {
		if *dst == nil {
			// As new, as the names below.
			clear(pending.Spans[:cap(pending.Spans)])
			pending.Spans = pending.Spans[:0]
		}
		pending.Data = s.data
	}
	if *dst == nil {
		if lent := s.reuse.Names; lent != nil {
			// As new: a null element leaves the empty name, not an
			// earlier call's.
			clear((*lent)[:cap(*lent)])
			*lent = (*lent)[:0]
			*dst = lent
		} else {
			*dst = new([]string)
		}
	}
	names := **dst
	// Room for as many names as there are commas before the first ']',
	// give or take: more than one allocation per thousand names is waste.
	if end := bytes.IndexByte(s.data[s.pos:], ']'); end > 0 {
		names = slices.Grow(names, max(0, bytes.Count(s.data[s.pos:s.pos+end], []byte{','})+1-len(names)))
	}
	i := 0
	s.skipSpace()
	if s.peek() == ']' {
		s.pos++
	} else {
		for {
			s.skipSpace()
			if i >= cap(names) {
				names = slices.Grow(names, 1)
			}
			if i >= len(names) {
				names = names[:i+1]
			}
			if pending != nil && i >= len(pending.Spans) {
				pending.Spans = append(pending.Spans, Span{})
			}
			switch s.peek() {
			case '"':
				start := s.pos
				plain, err := s.scanString()
				if err != nil {
					return err
				}
				raw := s.data[start+1 : s.pos-1]
				if !plain && (bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw)) {
					if err := json.Unmarshal(s.data[start:s.pos], &names[i]); err != nil {
						return err
					}
					if pending != nil {
						pending.Spans[i] = Span{}
					}
					break
				}
				if pending != nil {
					names[i], pending.Spans[i] = "", Span{Start: int32(start + 1), End: int32(s.pos - 1)}
					break
				}
				if *body == "" {
					*body = string(s.data)
				}
				names[i] = (*body)[start+1 : s.pos-1]
			case 'n':
				if err := s.scanLiteral(); err != nil {
					return err
				}
			default:
				return fmt.Errorf("element %d is a JSON %s; want a node name (string)", i, jsonKind(s.peek()))
			}
			i++
			s.skipSpace()
			if s.peek() == ',' {
				s.pos++
				continue
			}
			if err := s.expect(']', "',' or ']' after an array element"); err != nil {
				return err
			}
			break
		}
	}
	if i < len(names) {
		if pending != nil {
			// The names cut off stay in the array, where a later member's
			// null elements show them again, as encoding/json's would:
			// they become strings of their own.
			for j := i; j < len(names) && j < len(pending.Spans); j++ {
				if b := pending.Name(j); b != nil {
					names[j] = string(b)
				}
				pending.Spans[j] = Span{}
			}
			pending.Spans = pending.Spans[:min(i, len(pending.Spans))]
		}
		names = names[:i]
	}
	if i == 0 {
		names = []string{}
	}
	**dst = names
	return nil
}
