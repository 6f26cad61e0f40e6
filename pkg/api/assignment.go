package api

import (
	"encoding/json"
	"fmt"
)

// AssignmentVersion is the only version Decode accepts today.
const AssignmentVersion = "v1"

// Assignment is the value of AnnotationAssigned: the cards the extender
// chose for a vGPU pod. It is the source of truth for per-card allocation
// when the extender rebuilds its state after a restart.
type Assignment struct {
	Version    string                `json:"version"`
	Node       string                `json:"node"`
	Containers []ContainerAssignment `json:"containers"`
}

// ContainerAssignment is what one container of the pod received.
type ContainerAssignment struct {
	// Index is the container's position in spec.containers; gpu-manager's
	// predicate-gpu-idx-<i> annotations are keyed by it.
	Index int         `json:"index"`
	Name  string      `json:"name"`
	Cards []CardShare `json:"cards"`
}

// CardShare is one card's share given to a container.
type CardShare struct {
	Index     int   `json:"index"`
	Cores     int   `json:"cores"`
	MemoryMiB int64 `json:"memoryMiB"`
}

// EncodeAssignment returns the annotation value for a; the version is set
// when empty.
func EncodeAssignment(a Assignment) (string, error) {
	if a.Version == "" {
		a.Version = AssignmentVersion
	}
	if err := a.validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", AnnotationAssigned, err)
	}
	return string(b), nil
}

// DecodeAssignment parses an AnnotationAssigned value strictly; every error
// wraps ErrMalformed.
func DecodeAssignment(s string) (Assignment, error) {
	var a Assignment
	if err := decodeStrict(s, &a); err != nil {
		return Assignment{}, fmt.Errorf("%w: %s: %w", ErrMalformed, AnnotationAssigned, err)
	}
	if err := a.validate(); err != nil {
		return Assignment{}, err
	}
	return a, nil
}

func (a Assignment) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrMalformed, AnnotationAssigned, fmt.Sprintf(format, args...))
	}
	if a.Version != AssignmentVersion {
		return bad("version %q, want %q", a.Version, AssignmentVersion)
	}
	if a.Node == "" {
		return bad("no node")
	}
	if len(a.Containers) == 0 || len(a.Containers) > maxDevices {
		return bad("%d containers, want 1..%d", len(a.Containers), maxDevices)
	}
	seenContainer := make(map[int]bool, len(a.Containers))
	for _, c := range a.Containers {
		if c.Index < 0 || c.Index >= maxDevices || seenContainer[c.Index] {
			return bad("container index %d out of range or repeated", c.Index)
		}
		seenContainer[c.Index] = true
		if len(c.Cards) == 0 || len(c.Cards) > maxDevices {
			return bad("container %d: %d cards, want 1..%d", c.Index, len(c.Cards), maxDevices)
		}
		seenCard := make(map[int]bool, len(c.Cards))
		for _, s := range c.Cards {
			switch {
			case s.Index < 0 || s.Index >= maxDevices || seenCard[s.Index]:
				return bad("container %d: card index %d out of range or repeated", c.Index, s.Index)
			case s.Cores <= 0 || s.Cores > CoresPerCard:
				return bad("container %d: card %d: cores %d out of range 1..%d", c.Index, s.Index, s.Cores, CoresPerCard)
			case s.MemoryMiB < 0 || s.MemoryMiB > 1<<24:
				return bad("container %d: card %d: memory %d MiB out of range", c.Index, s.Index, s.MemoryMiB)
			}
			seenCard[s.Index] = true
		}
	}
	return nil
}

// CoresPerCard is gpu-manager's unit: a whole card is 100 vcuda cores,
// whatever the catalog calls its core resource.
const CoresPerCard = 100
