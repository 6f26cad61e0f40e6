package placement

import (
	"errors"
	"fmt"
	"strings"
)

// MaxRequestCards is the most cards one request may ask for.
const MaxRequestCards = 64

// ErrInvalidRequest marks a request that no node could ever satisfy because
// it is malformed.
var ErrInvalidRequest = errors.New("invalid request")

// Request is what one pod asks for.
//
//   - Cards 0: no GPU, only CPU and memory.
//   - Cards N, Milli 1000: N whole cards, all of one type; through the vGPU
//     manager when VGPU (N virtual cards, each a whole card's worth of cores),
//     else through the device plugin.
//   - Cards 1, Milli 1..999: a share of one card (always through the vGPU
//     manager), with CardMemoryMiB of its memory.
type Request struct {
	Cards int
	// Milli is the per-card part of the cores: 1000 for whole cards.
	Milli int64
	// CardMemoryMiB is the card memory a share needs; 0 = cores only.
	CardMemoryMiB int64
	// VGPU routes whole cards through the vGPU manager; shares always are.
	VGPU bool
	// Types are the allowed card types; empty = any.
	Types []string
	// CPUMilli and MemoryMiB are the host resources the pod asks for.
	CPUMilli  int64
	MemoryMiB int64
	// Sharing is the backend a request through the vGPU manager (VGPU, or
	// a share) goes through; the zero value is gpu-manager.
	Sharing Sharing
	// Unit, when set, makes the request Cards units of the node's pool of
	// that name (Node.Units: a MIG profile such as "mig-3g.40gb", or
	// "gpu.shared"), with Milli 1000 and no card memory.
	Unit string
}

// UnitsOf returns a request for n units of the named pool.
func UnitsOf(n int, unit string, sharing Sharing, types ...string) Request {
	return Request{Cards: n, Milli: MilliPerCard, Unit: unit, Sharing: sharing, Types: types}
}

// Whole returns a request for n whole cards of one of types (any when none).
func Whole(n int, types ...string) Request {
	return Request{Cards: n, Milli: MilliPerCard, Types: types}
}

// Share returns a request for milli of one card's cores and memMiB of its
// memory, of one of types (any when none).
func Share(milli, memMiB int64, types ...string) Request {
	return Request{Cards: 1, Milli: milli, CardMemoryMiB: memMiB, VGPU: true, Types: types}
}

// IsShare tells whether r asks for part of one card.
func (r *Request) IsShare() bool { return r.Cards == 1 && r.Milli < MilliPerCard && r.Unit == "" }

// UsesVGPU tells whether r goes through the vGPU manager.
func (r *Request) UsesVGPU() bool {
	return r.Cards > 0 && r.Unit == "" && (r.VGPU || r.Milli < MilliPerCard)
}

// GPUMilli is the total GPU r asks for, in milli.
func (r *Request) GPUMilli() int64 { return int64(r.Cards) * r.Milli }

// Validate refuses requests that are malformed whatever the node.
func (r *Request) Validate() error {
	switch {
	case r.Cards < 0 || r.Cards > MaxRequestCards:
		return fmt.Errorf("%w: %d cards, want 0..%d", ErrInvalidRequest, r.Cards, MaxRequestCards)
	case r.Cards == 0 && (r.Milli != 0 || r.CardMemoryMiB != 0):
		return fmt.Errorf("%w: no cards but %d milli and %d MiB of card memory", ErrInvalidRequest, r.Milli, r.CardMemoryMiB)
	case r.Cards > 0 && (r.Milli < 1 || r.Milli > MilliPerCard):
		return fmt.Errorf("%w: %d milli per card, want 1..%d", ErrInvalidRequest, r.Milli, MilliPerCard)
	case r.Cards > 1 && r.Milli != MilliPerCard:
		return fmt.Errorf("%w: a share (%d milli) is of one card, not %d", ErrInvalidRequest, r.Milli, r.Cards)
	case r.CardMemoryMiB < 0 || r.CPUMilli < 0 || r.MemoryMiB < 0:
		return fmt.Errorf("%w: negative amounts (card memory %d MiB, CPU %d milli, memory %d MiB)", ErrInvalidRequest, r.CardMemoryMiB, r.CPUMilli, r.MemoryMiB)
	case r.Milli == MilliPerCard && r.CardMemoryMiB != 0:
		return fmt.Errorf("%w: whole cards take all their memory, drop the %d MiB", ErrInvalidRequest, r.CardMemoryMiB)
	case r.Unit != "" && (r.Cards == 0 || r.Milli != MilliPerCard || r.VGPU):
		return fmt.Errorf("%w: %d units of %s take whole units: %d milli and vGPU %t make no sense", ErrInvalidRequest, r.Cards, r.Unit, r.Milli, r.VGPU)
	case r.Sharing > SharingTimeslice:
		return fmt.Errorf("%w: %s", ErrInvalidRequest, r.Sharing)
	}
	return nil
}

// allows tells whether a card of type t may serve r.
func (r *Request) allows(t string) bool {
	if len(r.Types) == 0 {
		return true
	}
	for _, a := range r.Types {
		if a == t {
			return true
		}
	}
	return false
}

// String writes the request the way users write it: "2(V100)", "0.3(T4,4096Mi)".
func (r *Request) String() string {
	var b strings.Builder
	switch {
	case r.Cards == 0:
		b.WriteString("0")
	case r.IsUnits():
		fmt.Fprintf(&b, "%d", r.Cards)
	case r.IsShare():
		fmt.Fprintf(&b, "0.%03d", r.Milli)
		s := strings.TrimRight(b.String(), "0")
		b.Reset()
		b.WriteString(s)
	default:
		fmt.Fprintf(&b, "%d", r.Cards)
	}
	var in []string
	if r.IsUnits() {
		in = append(in, r.Unit)
	}
	if r.Sharing == SharingHAMi && r.UsesVGPU() {
		in = append(in, "HAMi")
	}
	if r.VGPU && !r.IsShare() && r.Cards > 0 {
		in = append(in, "VGPU")
	}
	if len(r.Types) > 0 {
		in = append(in, strings.Join(r.Types, "|"))
	}
	if r.CardMemoryMiB > 0 {
		in = append(in, fmt.Sprintf("%dMi", r.CardMemoryMiB))
	}
	if len(in) > 0 {
		b.WriteString("(" + strings.Join(in, ",") + ")")
	}
	return b.String()
}
