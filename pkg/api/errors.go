package api

import "errors"

// ErrMalformed is wrapped by every Decode error, so callers can tell a
// corrupt annotation (filter the node or pod, with a reason) from other
// failures.
var ErrMalformed = errors.New("malformed annotation")
