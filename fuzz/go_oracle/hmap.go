package main

import (
	"fmt"
	"unsafe"
)

// hmapHeader mirrors the header of Go 1.19's runtime map (runtime/map.go,
// type hmap): the map value is a pointer to it. Only go1.19.x is accepted at
// startup (see main.go), and selfCheck confirms the offsets on live maps
// before any program runs, so a layout change fails loudly instead of
// producing plausible wrong numbers.
type hmapHeader struct {
	count      int
	flags      uint8
	b          uint8
	noverflow  uint16
	hash0      uint32
	buckets    unsafe.Pointer
	oldbuckets unsafe.Pointer
	nevacuate  uintptr
	extra      unsafe.Pointer
}

// hmapState is what every reply reports about the runtime map.
type hmapState struct {
	B         uint8
	Count     int
	Growing   bool // oldbuckets != nil: an evacuation is in progress
	Noverflow uint16
	Flags     uint8
	Nevacuate uintptr
}

// headerOf returns the runtime header behind a map value (nil for a nil map).
func headerOf[K comparable](m map[K]uint64) *hmapHeader {
	return *(**hmapHeader)(unsafe.Pointer(&m))
}

func stateOf[K comparable](m map[K]uint64) hmapState {
	h := headerOf(m)
	if h == nil {
		return hmapState{}
	}
	return hmapState{B: h.b, Count: h.count, Growing: h.oldbuckets != nil, Noverflow: h.noverflow,
		Flags: h.flags, Nevacuate: h.nevacuate}
}

func (s hmapState) String() string {
	g := 0
	if s.Growing {
		g = 1
	}
	return fmt.Sprintf("B=%d count=%d growing=%d noverflow=%d", s.B, s.Count, g, s.Noverflow)
}

// runtimeMapclear is the runtime function that Go 1.21's clear(m) compiles
// to (and that Go 1.19 already uses for the `for k := range m { delete(m, k) }`
// idiom when the key type is reflexive). Reaching it directly gives every key
// type, floats included, the same clear. The package's empty .s file lets
// this body-less declaration compile.
//
//go:linkname runtimeMapclear runtime.mapclear
func runtimeMapclear(maptype unsafe.Pointer, h unsafe.Pointer)

// mapTypeOf returns the runtime type descriptor of m's map type (the type
// word of an interface holding it), which is what mapclear expects.
func mapTypeOf(m any) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&m))[0]
}

func mapclear[K comparable](m map[K]uint64) {
	runtimeMapclear(mapTypeOf(m), unsafe.Pointer(headerOf(m)))
}

// Go's growth trigger, restated only to check the header reading against it:
// a map with count entries is over its load factor at size 2^b when
// count > 8 and count > 6.5 * 2^b (computed as 13 * (2^b / 2)).
func overLoad(count uint64, b uint8) bool {
	return count > 8 && count > 13*((uint64(1)<<b)/2)
}

// bForHint is the B that make(map, hint) chooses, and also the B a map
// reaches after `hint` fresh inserts into make(map, 0).
func bForHint(hint uint64) uint8 {
	b := uint8(0)
	for overLoad(hint, b) {
		b++
	}
	return b
}

// selfCheck confirms the header offsets on maps whose header is known: the
// make-hint rule fixes B, len(m) fixes count, a fresh map has no overflow
// buckets, flags or growth, and the 27th insert into make(map, 0) starts a
// growth from B=2 to B=3 that two evacuations cannot finish.
func selfCheck() error {
	for _, hint := range []uint64{0, 8, 9, 13, 14, 27, 53, 1000, 100000} {
		m := make(map[uint64]uint64, int(hint))
		s := stateOf(m)
		if s.B != bForHint(hint) || s.Count != 0 || s.Growing || s.Noverflow != 0 || s.Flags != 0 {
			return fmt.Errorf("make(map, %d) reads as %v flags=%d, want B=%d and an empty header", hint, s, s.Flags, bForHint(hint))
		}
		if hint > 0 && headerOf(m).buckets == nil {
			return fmt.Errorf("make(map, %d) reads with no bucket array", hint)
		}
	}
	m := make(map[uint64]uint64)
	for i := uint64(1); i <= 3000; i++ {
		m[i*0x9e3779b97f4a7c15] = i
		s := stateOf(m)
		if s.Count != len(m) || s.B != bForHint(i) {
			return fmt.Errorf("after %d inserts the header reads %v, want count=%d B=%d", i, s, len(m), bForHint(i))
		}
		if i == 27 && !s.Growing {
			return fmt.Errorf("after 27 inserts the header reads %v, want growing=1", s)
		}
		if uint64(s.Noverflow) > uint64(1)<<s.B {
			return fmt.Errorf("after %d inserts the header reads %v: noverflow beyond 2^B", i, s)
		}
	}
	b := stateOf(m).B
	mapclear(m)
	if s := stateOf(m); len(m) != 0 || s.Count != 0 || s.B != b || s.Growing || s.Noverflow != 0 {
		return fmt.Errorf("after mapclear the header reads %v len=%d, want count=0 B=%d", s, len(m), b)
	}
	return nil
}
