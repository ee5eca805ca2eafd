package main

import (
	"fmt"
	"math/bits"
)

// The input scheme shared with the C++ benchmark (README.md, "Keys and
// shuffles"): every key, miss key, string and permutation is a pure function
// of splitmix64, so both sides build the same data without sharing files.

const (
	golden     = 0x9e3779b97f4a7c15
	missOffset = uint64(1) << 40 // miss keys: splitmix64(i + 2^40)
	strOffset  = uint64(1) << 41 // second half of a string key
	strLen     = 24
)

// splitmix64 is the finaliser of Vigna's SplitMix64, applied to x + golden,
// exactly as bench/gomap_bench.cpp's splitmix64().
func splitmix64(x uint64) uint64 {
	x += golden
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is the SplitMix64 generator seeded with seed: its k-th output
// (k = 0, 1, ...) is splitmix64(seed + k*golden).
type rng struct{ next uint64 }

func newRNG(seed uint64) *rng { return &rng{next: seed} }

func (r *rng) u64() uint64 {
	v := splitmix64(r.next)
	r.next += golden
	return v
}

// below returns a draw in [0, n): the high 64 bits of u64() * n.
func (r *rng) below(n uint64) uint64 {
	hi, _ := bits.Mul64(r.u64(), n)
	return hi
}

// shuffle is Fisher–Yates from the top: for i = len-1 down to 1, swap
// element i with element below(i+1).
func shuffle[T any](v []T, seed uint64) {
	r := newRNG(seed)
	for i := len(v) - 1; i > 0; i-- {
		j := r.below(uint64(i) + 1)
		v[i], v[j] = v[j], v[i]
	}
}

// stringKey is the i-th 24-byte string key: 16 hex digits of splitmix64(i)
// then 8 hex digits of the low 32 bits of splitmix64(i + 2^41).
func stringKey(i uint64) string {
	return fmt.Sprintf("%016x%08x", splitmix64(i), splitmix64(i+strOffset)&0xffffffff)
}

// u64Data is the u64 input of one size n.
type u64Data struct {
	keys     []uint64 // splitmix64(i), i < n, insertion order
	shuffled []uint64 // keys shuffled with seed 1 (lookup hit, erase)
	misses   []uint64 // splitmix64(i + 2^40), i < n: never present
}

func newU64Data(n int) *u64Data {
	d := &u64Data{keys: make([]uint64, n), misses: make([]uint64, n)}
	for i := range d.keys {
		d.keys[i] = splitmix64(uint64(i))
		d.misses[i] = splitmix64(uint64(i) + missOffset)
	}
	d.shuffled = append([]uint64(nil), d.keys...)
	shuffle(d.shuffled, 1)
	return d
}

// strData is the string input of one size n.
type strData struct {
	strs     []string // stringKey(i), insertion order
	shuffled []string // the same strings permuted by shuffle(0..n-1, seed 2), each a fresh copy allocated in that order
}

func newStrData(n int) *strData {
	d := &strData{strs: make([]string, n), shuffled: make([]string, n)}
	perm := make([]uint32, n)
	for i := range d.strs {
		d.strs[i] = stringKey(uint64(i))
		perm[i] = uint32(i)
	}
	shuffle(perm, 2)
	for i, p := range perm {
		d.shuffled[i] = string([]byte(d.strs[p]))
	}
	return d
}
