package hami

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Device is one card as HAMi's device plugin registers it on the node.
type Device struct {
	// UUID is the card's NVML UUID ("GPU-…"): what the pod annotations name.
	UUID string
	// Index is the card's NVML index; registrations of 7 fields (before
	// v2.5) carry none, and the position in the list stands for it.
	Index int
	// Split is the most tasks that may share the card (HAMi's
	// deviceSplitCount, 10 by default).
	Split int
	// MemoryMiB is the card memory HAMi hands out (after its memory
	// scaling).
	MemoryMiB int64
	// Cores is the card's compute in percent of a card: 100 unless HAMi's
	// core scaling is set.
	Cores int
	// Type is the product name as HAMi writes it ("NVIDIA A100-SXM4-40GB",
	// or "NVIDIA-Tesla T4" for names without the vendor prefix).
	Type string
	NUMA int
	// Health is false for a card HAMi must not hand out.
	Health bool
	// Mode is hami-core, mig or mps; hami-core when the registration does
	// not say.
	Mode string
}

// jsonDevice is one card of the JSON registration (v2.8.0 and later), with
// HAMi's field names. HAMi omits zero fields, so an absent index is 0 and
// an absent health is false. Fields gpuplane does not read (migtemplate,
// migProfiles, devicevendor, custominfo, devicepairscore) are skipped.
type jsonDevice struct {
	ID      string `json:"id"`
	Index   int    `json:"index"`
	Count   int    `json:"count"`
	Devmem  int64  `json:"devmem"`
	Devcore int    `json:"devcore"`
	Type    string `json:"type"`
	Numa    int    `json:"numa"`
	Mode    string `json:"mode"`
	Health  bool   `json:"health"`
}

// DecodeRegistration reads an AnnotationRegister value in either of the
// formats HAMi has published: a JSON list (v2.8.0 and later) or the
// ':'-ended list of comma-separated entries (v2.7.1 and earlier). Every
// error wraps ErrMalformed.
func DecodeRegistration(s string) ([]Device, error) {
	t := strings.TrimSpace(s)
	var ds []Device
	var err error
	if strings.HasPrefix(t, "[") {
		ds, err = decodeRegistrationJSON(t)
	} else {
		ds, err = decodeRegistrationLegacy(t)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, AnnotationRegister, err)
	}
	if err := validateDevices(ds); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, AnnotationRegister, err)
	}
	return ds, nil
}

func decodeRegistrationJSON(s string) ([]Device, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	var list []*jsonDevice
	if err := dec.Decode(&list); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON list")
	}
	if len(list) > maxDevices {
		return nil, fmt.Errorf("%d cards, at most %d", len(list), maxDevices)
	}
	out := make([]Device, 0, len(list))
	for i, d := range list {
		if d == nil {
			return nil, fmt.Errorf("card %d is null", i)
		}
		mode := d.Mode
		if mode == "" {
			mode = ModeHAMiCore
		}
		out = append(out, Device{UUID: d.ID, Index: d.Index, Split: d.Count, MemoryMiB: d.Devmem, Cores: d.Devcore,
			Type: d.Type, NUMA: d.Numa, Health: d.Health, Mode: mode})
	}
	return out, nil
}

func decodeRegistrationLegacy(s string) ([]Device, error) {
	if !strings.Contains(s, ":") {
		return nil, fmt.Errorf("neither a JSON list nor ':'-ended entries")
	}
	var out []Device
	for pos, entry := range strings.Split(s, ":") {
		if entry == "" {
			continue
		}
		if len(out) == maxDevices {
			return nil, fmt.Errorf("more than %d cards", maxDevices)
		}
		f := strings.Split(entry, ",")
		if len(f) != 7 && len(f) != 9 {
			return nil, fmt.Errorf("entry %d has %d fields, want 7 or 9 (UUID,split,memMiB,cores,type,numa,health[,index,mode])", pos, len(f))
		}
		d := Device{UUID: f[0], Type: f[4], Index: len(out), Mode: ModeHAMiCore}
		var err error
		if d.Split, err = atoi(f[1], "split"); err != nil {
			return nil, fmt.Errorf("entry %d: %w", pos, err)
		}
		if d.MemoryMiB, err = strconv.ParseInt(f[2], 10, 64); err != nil {
			return nil, fmt.Errorf("entry %d: memory %q is not an integer", pos, f[2])
		}
		if d.Cores, err = atoi(f[3], "cores"); err != nil {
			return nil, fmt.Errorf("entry %d: %w", pos, err)
		}
		if d.NUMA, err = atoi(f[5], "numa"); err != nil {
			return nil, fmt.Errorf("entry %d: %w", pos, err)
		}
		if d.Health, err = strconv.ParseBool(f[6]); err != nil {
			return nil, fmt.Errorf("entry %d: health %q is not a boolean", pos, f[6])
		}
		if len(f) == 9 {
			if d.Index, err = atoi(f[7], "index"); err != nil {
				return nil, fmt.Errorf("entry %d: %w", pos, err)
			}
			d.Mode = f[8]
		}
		out = append(out, d)
	}
	return out, nil
}

func atoi(s, what string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", what, s)
	}
	return n, nil
}

// validateDevices refuses what no card can be: the decoders share it.
func validateDevices(ds []Device) error {
	seenIdx := make(map[int]bool, len(ds))
	seenUUID := make(map[string]bool, len(ds))
	for i, d := range ds {
		switch {
		case !token(d.UUID):
			return fmt.Errorf("card %d: uuid %q is empty or holds a separator or space", i, d.UUID)
		case seenUUID[d.UUID]:
			return fmt.Errorf("card uuid %q listed twice", d.UUID)
		case d.Index < 0 || d.Index >= maxDevices:
			return fmt.Errorf("card %s: index %d out of range 0..%d", d.UUID, d.Index, maxDevices-1)
		case seenIdx[d.Index]:
			return fmt.Errorf("card index %d listed twice", d.Index)
		case d.Split < 0 || d.Split > maxSplit:
			return fmt.Errorf("card %s: split count %d out of range 0..%d", d.UUID, d.Split, maxSplit)
		case d.MemoryMiB <= 0 || d.MemoryMiB > maxMemoryMiB:
			return fmt.Errorf("card %s: memory %d MiB out of range 1..%d", d.UUID, d.MemoryMiB, maxMemoryMiB)
		case d.Cores < 0 || d.Cores > maxCores:
			return fmt.Errorf("card %s: cores %d out of range 0..%d", d.UUID, d.Cores, maxCores)
		case d.Type == "" || strings.ContainsAny(d.Type, ",:;") || !utf8.ValidString(d.Type) || strings.TrimSpace(d.Type) != d.Type:
			return fmt.Errorf("card %s: type %q is empty or holds a separator", d.UUID, d.Type)
		case d.NUMA < -1 || d.NUMA > 1024:
			return fmt.Errorf("card %s: numa node %d out of range -1..1024", d.UUID, d.NUMA)
		case !token(d.Mode):
			return fmt.Errorf("card %s: mode %q is empty or holds a separator", d.UUID, d.Mode)
		}
		seenIdx[d.Index], seenUUID[d.UUID] = true, true
	}
	return nil
}

// token tells whether s is a non-empty run of printable UTF-8 without the
// separators of HAMi's formats or spaces: what a UUID or a mode is.
func token(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == ',' || r == ':' || r == ';' || r == 0x7f || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// EncodeRegistration writes ds as HAMi v2.8.0 and later publish them: a
// JSON list, zero fields left out as HAMi leaves them out. It is what tests
// and simulated nodes put on a node in place of HAMi's device plugin.
func EncodeRegistration(ds []Device) (string, error) {
	if err := validateDevices(ds); err != nil {
		return "", fmt.Errorf("encoding %s: %w", AnnotationRegister, err)
	}
	type out struct {
		ID      string `json:"id,omitempty"`
		Index   int    `json:"index,omitempty"`
		Count   int    `json:"count,omitempty"`
		Devmem  int64  `json:"devmem,omitempty"`
		Devcore int    `json:"devcore,omitempty"`
		Type    string `json:"type,omitempty"`
		Numa    int    `json:"numa,omitempty"`
		Mode    string `json:"mode,omitempty"`
		Health  bool   `json:"health,omitempty"`
	}
	list := make([]out, len(ds))
	for i, d := range ds {
		list[i] = out{ID: d.UUID, Index: d.Index, Count: d.Split, Devmem: d.MemoryMiB, Devcore: d.Cores, Type: d.Type,
			Numa: d.NUMA, Mode: d.Mode, Health: d.Health}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", AnnotationRegister, err)
	}
	return string(b), nil
}

// EncodeRegistrationLegacy writes ds as HAMi v2.5 to v2.7.1 published them:
// 9 fields per card, each card ended by ':'.
func EncodeRegistrationLegacy(ds []Device) (string, error) {
	if err := validateDevices(ds); err != nil {
		return "", fmt.Errorf("encoding %s: %w", AnnotationRegister, err)
	}
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s,%d,%d,%d,%s,%d,%t,%d,%s:", d.UUID, d.Split, d.MemoryMiB, d.Cores, d.Type, d.NUMA, d.Health, d.Index, d.Mode)
	}
	return b.String(), nil
}
