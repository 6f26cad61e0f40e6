package api

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Device is one card as the node agent found it.
type Device struct {
	Index     int    `json:"index"`
	UUID      string `json:"uuid"`
	Type      string `json:"type"`
	Product   string `json:"product"`
	MemoryMiB int64  `json:"memoryMiB"`
	// MIG is set for a card in MIG mode: its MIG instances. Absent for
	// other cards, so that a node without MIG writes the same annotation as
	// before MIG was read.
	MIG *DeviceMIG `json:"mig,omitempty"`
}

// Devices is the value of AnnotationDevices: the cards of a node ordered by
// index, with the MIG instances of cards in MIG mode. Version 1 of the format is the bare JSON list (SPEC §4); a later
// version would be a JSON object, which Decode tells apart by its first byte.
type Devices []Device

// maxDevices bounds what a node may claim; no server holds more cards, and
// a bigger list is a corrupt or hostile annotation.
const maxDevices = 256

// EncodeDevices returns the annotation value for ds.
func EncodeDevices(ds Devices) (string, error) {
	if err := ds.validate(); err != nil {
		return "", err
	}
	if ds == nil {
		ds = Devices{}
	}
	b, err := json.Marshal(ds)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", AnnotationDevices, err)
	}
	return string(b), nil
}

// DecodeDevices parses an AnnotationDevices value strictly: unknown fields,
// trailing data, duplicate indexes or UUIDs and impossible values are errors
// wrapping ErrMalformed.
func DecodeDevices(s string) (Devices, error) {
	var ds Devices
	if err := decodeStrict(s, &ds); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, AnnotationDevices, err)
	}
	if err := ds.validate(); err != nil {
		return nil, err
	}
	return ds, nil
}

func (ds Devices) validate() error {
	if len(ds) > maxDevices {
		return fmt.Errorf("%w: %s: %d cards, at most %d", ErrMalformed, AnnotationDevices, len(ds), maxDevices)
	}
	seenIdx := make(map[int]bool, len(ds))
	seenUUID := make(map[string]bool, len(ds))
	for i, d := range ds {
		switch {
		case d.Index < 0 || d.Index >= maxDevices:
			return fmt.Errorf("%w: %s: card %d: index %d out of range 0..%d", ErrMalformed, AnnotationDevices, i, d.Index, maxDevices-1)
		case seenIdx[d.Index]:
			return fmt.Errorf("%w: %s: card index %d listed twice", ErrMalformed, AnnotationDevices, d.Index)
		case d.UUID != "" && seenUUID[d.UUID]:
			return fmt.Errorf("%w: %s: card uuid %q listed twice", ErrMalformed, AnnotationDevices, d.UUID)
		case d.Type == "":
			return fmt.Errorf("%w: %s: card %d has no type", ErrMalformed, AnnotationDevices, d.Index)
		case d.MemoryMiB <= 0 || d.MemoryMiB > 1<<24:
			return fmt.Errorf("%w: %s: card %d: memory %d MiB out of range 1..%d", ErrMalformed, AnnotationDevices, d.Index, d.MemoryMiB, 1<<24)
		}
		seenIdx[d.Index] = true
		if d.UUID != "" {
			seenUUID[d.UUID] = true
		}
		if d.MIG != nil {
			if err := d.MIG.validate(d.Index, seenUUID); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeStrict unmarshals exactly one JSON value, refusing unknown fields and
// anything after it.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}
