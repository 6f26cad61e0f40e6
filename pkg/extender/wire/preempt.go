package wire

import (
	"encoding/json"
	"fmt"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// DecodePreemptionArgs decodes a preempt body into args: one JSON object
// and nothing after it, as json.Unmarshal takes it. A preempt call is
// rare and small (candidate nodes and their victims' UIDs), so reflection
// does it. Every error wraps ErrBadRequest.
func DecodePreemptionArgs(data []byte, args *extenderv1.ExtenderPreemptionArgs) error {
	if err := json.Unmarshal(data, args); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return nil
}
