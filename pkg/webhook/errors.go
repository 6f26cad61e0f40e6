package webhook

import (
	"errors"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// Classes of a refused pod, for errors.Is and for the refusal-reason metric.
var (
	// ErrInvalidRequest: the gpuplane.io/gpu annotation does not parse, or names
	// something the catalog does not know.
	ErrInvalidRequest = errors.New("invalid GPU request")
	// ErrUnknownContainer: gpuplane.io/container names no container of the pod, or
	// the pod has no container at all.
	ErrUnknownContainer = errors.New("unknown container")
	// ErrUnknownRole: gpuplane.io/role is not a role of the catalog.
	ErrUnknownRole = errors.New("unknown role")
	// ErrConflict: the pod already says something else about what the request would
	// set (another amount of the same resource, another scheduler, another value of
	// the same environment variable). It is refused rather than overwritten.
	ErrConflict = errors.New("conflicts with the pod spec")
	// ErrDenied is the class of ExplainPod's error when the webhook refuses the pod;
	// the error's message is the webhook's.
	ErrDenied = errors.New("denied")
)

// refusal is an error meant for the person who submitted the object: its message is
// complete as is (it quotes the input and says what would be accepted) while
// errors.Is still finds the class and the cause.
type refusal struct {
	class error
	msg   string
	cause error
}

func (r *refusal) Error() string { return r.msg }

func (r *refusal) Unwrap() []error {
	if r.cause == nil {
		return []error{r.class}
	}
	return []error{r.class, r.cause}
}

// Reason names the class of a refusal for the metrics: "syntax", "catalog",
// "container", "role", "conflict", or "other".
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrInvalidRequest):
		var se *gpuspec.Error
		if errors.As(err, &se) && isSyntaxClass(se.Err) {
			return "syntax"
		}
		return "catalog"
	case errors.Is(err, ErrUnknownContainer):
		return "container"
	case errors.Is(err, ErrUnknownRole):
		return "role"
	case errors.Is(err, ErrConflict):
		return "conflict"
	default:
		return "other"
	}
}

func isSyntaxClass(err error) bool {
	return errors.Is(err, gpuspec.ErrSyntax) || errors.Is(err, gpuspec.ErrRange) ||
		errors.Is(err, gpuspec.ErrPrecision) || errors.Is(err, gpuspec.ErrConflict)
}
