package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonObject is a JSON object kept in the order it was written, each value as
// the exact bytes it had, so that rewriting one member leaves every other
// member byte-identical. encoding/json's map decoding would sort the keys and
// re-encode every value.
type jsonObject struct {
	members []jsonMember
}

type jsonMember struct {
	key   string
	value json.RawMessage
}

// errNotObject marks a JSON value that is valid but not an object.
var errNotObject = errors.New("not a JSON object")

// parseJSONObject parses b as exactly one JSON object. Duplicate keys are
// refused: encoding/json silently keeps the last one, and rewriting such a
// file would change which one the runtime sees.
func parseJSONObject(b []byte) (*jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: starts with %v", errNotObject, tok)
	}
	obj := &jsonObject{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", tok)
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("value of %q: %w", key, err)
		}
		obj.members = append(obj.members, jsonMember{key: key, value: raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, errors.New("data after the closing brace")
		}
		return nil, err
	}
	return obj, nil
}

func (o *jsonObject) get(key string) (json.RawMessage, bool) {
	for _, m := range o.members {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// set replaces key's value in place, or appends the member when absent.
func (o *jsonObject) set(key string, value json.RawMessage) {
	for i := range o.members {
		if o.members[i].key == key {
			o.members[i].value = value
			return
		}
	}
	o.members = append(o.members, jsonMember{key: key, value: value})
}

// render writes the object with one member per line. depth is the object's
// nesting level and unit the indentation of one level, so that values kept
// verbatim from a file indented with the same unit stay aligned.
func (o *jsonObject) render(unit string, depth int) json.RawMessage {
	if len(o.members) == 0 {
		return json.RawMessage("{}")
	}
	var b bytes.Buffer
	inner := strings.Repeat(unit, depth+1)
	b.WriteString("{\n")
	for i, m := range o.members {
		b.WriteString(inner)
		b.Write(encodeJSONString(m.key))
		b.WriteString(": ")
		b.Write(m.value)
		if i < len(o.members)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(strings.Repeat(unit, depth))
	b.WriteByte('}')
	return b.Bytes()
}

// encodeJSONString encodes s as a JSON string without HTML escaping, which
// would turn a harmless "<" in a path into \u003c.
func encodeJSONString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// detectIndent returns the whitespace before the first member of a
// multi-line object, the unit its author indented with; "" when the object
// is empty or written on one line.
func detectIndent(b []byte) string {
	i := bytes.IndexByte(b, '{')
	if i < 0 {
		return ""
	}
	rest := b[i+1:]
	nl := -1
	for j, c := range rest {
		if c == '\n' {
			nl = j
			continue
		}
		if c != ' ' && c != '\t' && c != '\r' {
			if nl < 0 || c == '}' {
				return ""
			}
			return string(rest[nl+1 : j])
		}
	}
	return ""
}
