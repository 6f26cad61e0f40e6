package api

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceMIG is the Multi-Instance GPU state of a card in MIG mode, as the
// node agent reads it through NVML: the instances that exist on the card.
// It is absent from a card whose MIG mode is disabled or which has no MIG.
type DeviceMIG struct {
	// Instances are the card's MIG devices (one GPU instance and its
	// compute instance each), ordered by placement.
	Instances []MIGInstance `json:"instances"`
}

// MIGInstance is one MIG device of a card.
type MIGInstance struct {
	// Profile is NVIDIA's name of its GPU instance profile: "1g.10gb",
	// "3g.40gb", "1g.10gb+me".
	Profile string `json:"profile"`
	// UUID is the MIG device's UUID ("MIG-..."), as the device plugin
	// names it to the container runtime.
	UUID string `json:"uuid,omitempty"`
	// Start and Size are the GPU instance's placement, in memory slices of
	// the card (8 on most MIG cards, 4 on the A30): two instances of a card
	// never overlap.
	Start int `json:"start"`
	Size  int `json:"size"`
}

// maxMIGSlices bounds a card's memory slices; no MIG card has more than 8.
const maxMIGSlices = 8

// ParseMIGProfileSlices returns the compute slices of a profile name ("3g.40gb" is 3),
// or an error when the name is not "<slices>g.<memory>gb" with an optional
// "+me".
func ParseMIGProfileSlices(profile string) (int, error) {
	name := strings.TrimSuffix(profile, "+me")
	g, mem, ok := strings.Cut(name, "g.")
	if !ok || !strings.HasSuffix(mem, "gb") || !isNumber(g) || !isNumber(strings.TrimSuffix(mem, "gb")) {
		return 0, fmt.Errorf("profile %q is not a MIG profile name like 1g.10gb or 1g.10gb+me", profile)
	}
	n, _ := strconv.Atoi(g)
	if n < 1 || n > maxMIGSlices {
		return 0, fmt.Errorf("profile %q has %d compute slices, want 1..%d", profile, n, maxMIGSlices)
	}
	return n, nil
}

// isNumber reports whether s is 1 to 4 digits without a leading zero.
func isNumber(s string) bool {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validate checks the MIG layout of card index: profiles by name, at most
// one instance per memory slice, placements inside the card, compute
// slices adding up to no more than a card has, UUIDs unique (seen is
// shared with the other cards of the node).
func (m *DeviceMIG) validate(index int, seen map[string]bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: card %d: MIG: %s", ErrMalformed, AnnotationDevices, index, fmt.Sprintf(format, args...))
	}
	if len(m.Instances) > maxMIGSlices {
		return bad("%d instances, at most %d", len(m.Instances), maxMIGSlices)
	}
	var used [maxMIGSlices]bool
	compute := 0
	for i, in := range m.Instances {
		n, err := ParseMIGProfileSlices(in.Profile)
		if err != nil {
			return bad("instance %d: %v", i, err)
		}
		compute += n
		if in.Start < 0 || in.Size < 1 || in.Start >= maxMIGSlices || in.Size > maxMIGSlices-in.Start {
			return bad("instance %d (%s): placement %d+%d outside the card's %d memory slices", i, in.Profile, in.Start, in.Size, maxMIGSlices)
		}
		for s := in.Start; s < in.Start+in.Size; s++ {
			if used[s] {
				return bad("instance %d (%s): placement %d+%d overlaps another instance", i, in.Profile, in.Start, in.Size)
			}
			used[s] = true
		}
		if in.UUID != "" {
			if seen[in.UUID] {
				return bad("instance uuid %q listed twice", in.UUID)
			}
			seen[in.UUID] = true
		}
	}
	if compute > maxMIGSlices {
		return bad("the instances hold %d compute slices, more than a card has", compute)
	}
	return nil
}

// MIGProfiles returns the distinct profiles of the node's MIG instances, in
// the order first met, and whether any card is in MIG mode.
func (ds Devices) MIGProfiles() ([]string, bool) {
	var out []string
	mig := false
	for _, d := range ds {
		if d.MIG == nil {
			continue
		}
		mig = true
		for _, in := range d.MIG.Instances {
			found := false
			for _, p := range out {
				if p == in.Profile {
					found = true
					break
				}
			}
			if !found {
				out = append(out, in.Profile)
			}
		}
	}
	return out, mig
}
