package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A codec reads and writes one key type's wire form (README.md, "Keys").
// Every form is exact: format(parse(s)) == s for every canonical s.
type codec[K comparable] interface {
	parse(string) (K, error)
	format(K) string
}

// ---- u64: decimal.
type u64Codec struct{}

func (u64Codec) parse(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("u64 key %q is not a decimal 0..18446744073709551615 without leading zeros", s)
	}
	return v, nil
}
func (u64Codec) format(k uint64) string { return strconv.FormatUint(k, 10) }

// ---- f64: the IEEE-754 bits as exactly 16 hex digits, so every NaN payload
// and the sign of zero survive the trip.
type f64Codec struct{}

func parseBits(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("f64 key %q is not 16 hex digits", s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("f64 key %q is not 16 hex digits", s)
	}
	return v, nil
}
func formatBits(x float64) string { return fmt.Sprintf("%016x", math.Float64bits(x)) }

func (f64Codec) parse(s string) (float64, error) {
	b, err := parseBits(s)
	return math.Float64frombits(b), err
}
func (f64Codec) format(k float64) string { return formatBits(k) }

// ---- string: the bytes in hex; "-" is the empty string.
type stringCodec struct{}

func parseHexString(s string) (string, error) {
	if s == "-" {
		return "", nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || s == "" {
		return "", fmt.Errorf("string key %q is not hex bytes (or - for the empty string)", s)
	}
	return string(b), nil
}
func formatHexString(k string) string {
	if k == "" {
		return "-"
	}
	return hex.EncodeToString([]byte(k))
}

func (stringCodec) parse(s string) (string, error) { return parseHexString(s) }
func (stringCodec) format(k string) string         { return formatHexString(k) }

// ---- bigkey: 20 uint64 words (160 bytes, the size of the harness's BigKey),
// written as its 160 bytes in hex, each word little-endian (the C++ object's
// memory on a little-endian host). Go stores keys over 128 bytes indirectly,
// as gomap does.
const bigWords = 20

type bigKey [bigWords]uint64

type bigCodec struct{}

func (bigCodec) parse(s string) (bigKey, error) {
	var k bigKey
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8*bigWords {
		return k, fmt.Errorf("bigkey %q is not %d hex digits", s, 16*bigWords)
	}
	for i := range k {
		k[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return k, nil
}
func (bigCodec) format(k bigKey) string {
	b := make([]byte, 8*bigWords)
	for i, w := range k {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return hex.EncodeToString(b)
}

// ---- struct: {float64, string} like the harness's DoubleLabel, written
// <16 hex digits of the double's bits>:<label as a string key>. Go's ==
// compares field by field, so a NaN field makes the key unequal to itself
// and -0/+0 fields compare equal.
type structKey struct {
	X     float64
	Label string
}

type structCodec struct{}

func (structCodec) parse(s string) (structKey, error) {
	bits, label, ok := strings.Cut(s, ":")
	if !ok {
		return structKey{}, fmt.Errorf("struct key %q is not <16 hex digits>:<hex label or ->", s)
	}
	b, err := parseBits(bits)
	if err != nil {
		return structKey{}, fmt.Errorf("struct key %q: %v", s, err)
	}
	l, err := parseHexString(label)
	if err != nil {
		return structKey{}, fmt.Errorf("struct key %q: %v", s, err)
	}
	return structKey{X: math.Float64frombits(b), Label: l}, nil
}
func (structCodec) format(k structKey) string {
	return formatBits(k.X) + ":" + formatHexString(k.Label)
}
