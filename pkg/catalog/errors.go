package catalog

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel classes. Errors from Resolve are *gpuspec.Error values (the
// same type the parser returns, so one message format reaches users) whose
// Err is one of the request classes below.
var (
	// ErrUnknownName: a name is neither a type, an alias nor a vendor.
	ErrUnknownName = errors.New("unknown name")
	// ErrVendor: names that do not go together: a type of another vendor
	// than the one written, types of two vendors, a vendor where a type is
	// expected or a type where a vendor is.
	ErrVendor = errors.New("vendor mismatch")
	// ErrNoVGPU: vGPU (a share or VGPU cards) asked of a vendor other than
	// the default one.
	ErrNoVGPU = errors.New("no vGPU for this vendor")
	// ErrMemory: an explicit vGPU memory amount larger than the card, or
	// not a whole number of the vGPU memory unit.
	ErrMemory = errors.New("memory does not fit")
	// ErrSharing: a share, virtual cards or a MIG instance that no pool
	// of the catalog serves (see Pool): no pool has the types, or the
	// backend of those that have them cannot keep the request (memory on
	// time-slicing, a share larger than any MIG profile, ...).
	ErrSharing = errors.New("no sharing backend serves the request")
	// ErrMIGProfile: a MIG profile that the named types, or any type of
	// the catalog, do not offer.
	ErrMIGProfile = errors.New("MIG profile not offered")
	// ErrUnknownRole: a role the catalog does not list.
	ErrUnknownRole = errors.New("unknown role")
	// ErrInvalid: a catalog that does not load or does not validate; the
	// error is a *LoadError listing every problem with its line.
	ErrInvalid = errors.New("invalid catalog")
)

// FieldError is one problem in a catalog.
type FieldError struct {
	// Line is the line of the catalog YAML the problem is on; 0 when the
	// catalog was not read from YAML or the line is unknown.
	Line int
	// Field is the path of the field, e.g. "types[3].aliases[0]".
	Field string
	// Msg says what is wrong and what would be accepted.
	Msg string
}

func (e FieldError) String() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadError lists every problem found in a catalog, in document order.
type LoadError struct {
	// Source names what was read (a file path), if known.
	Source string
	Errs   []FieldError
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("invalid GPU catalog")
	if e.Source != "" {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Source))
	}
	if len(e.Errs) == 1 {
		b.WriteString(": ")
		b.WriteString(e.Errs[0].String())
		return b.String()
	}
	b.WriteString(":")
	for _, fe := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(fe.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *LoadError) Unwrap() error { return ErrInvalid }
