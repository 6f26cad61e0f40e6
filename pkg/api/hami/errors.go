package hami

import "errors"

// ErrMalformed is wrapped by every decoding error: the annotation is not in
// a format this package knows, or says something impossible.
var ErrMalformed = errors.New("malformed HAMi annotation")

// maxDevices bounds what one annotation may list; no node holds more cards,
// and a longer list is a corrupt or hostile annotation.
const maxDevices = 256

// maxMemoryMiB bounds a card's memory (16 TiB), as pkg/api does.
const maxMemoryMiB = 1 << 24

// maxCores bounds a card's cores: 100 is a card, HAMi's core scaling may
// register more.
const maxCores = 10000

// maxSplit bounds a card's split count (the most tasks sharing it).
const maxSplit = 1 << 16
