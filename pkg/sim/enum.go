package sim

import "slices"

// enumNames are the names of an enumeration's values on the command line, in
// the order of the values: the first names 0, the second 1, and so on.
type enumNames[T ~uint8] []string

// parse returns the value named s, and whether s names one.
func (n enumNames[T]) parse(s string) (T, bool) {
	i := slices.Index(n, s)
	if i < 0 {
		return 0, false
	}
	return T(i), true
}

// name returns v's name; a value without one is named as the zero value.
func (n enumNames[T]) name(v T) string {
	if int(v) < len(n) {
		return n[v]
	}
	return n[0]
}
