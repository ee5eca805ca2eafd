package main

import (
	"fmt"
	"runtime"
	"time"
)

const (
	readPasses      = 5         // timed passes per repetition of a read workload ...
	readPassesLarge = 2         // ... at sizes above 1M
	churnMinRound   = 2_000_000 // churn: at least this many rounds, and n
	clearWork       = 5_000_000 // clear loop: about this many inserts in all, at least 2 rounds
)

// sink keeps results observable so no timed loop is optimised away.
var sink uint64

// timer accumulates the timed regions of one repetition, like the C++
// benchmark's Timer: only what runs inside time() is measured.
type timer struct {
	ns, ops float64
	passes  int
}

func (t *timer) time(ops int, f func()) {
	if t.passes == 0 {
		runtime.GC() // start each repetition from a collected heap
	}
	t0 := time.Now()
	f()
	t.ns += float64(time.Since(t0).Nanoseconds())
	t.ops += float64(ops)
	t.passes++
}

// inputs is the data of one size, built once for every workload at that
// size, with the filled map that the read-only workloads share.
type inputs struct {
	n      int
	u64    *u64Data
	str    *strData
	filled map[uint64]uint64 // keys[i] -> i
	strMap map[string]uint64 // strs[i] -> i
}

func (in *inputs) readMap() map[uint64]uint64 {
	if in.filled == nil {
		in.filled = make(map[uint64]uint64)
		fill(in.filled, in.u64.keys)
	}
	return in.filled
}

func (in *inputs) passes() int {
	if in.n > 1_000_000 {
		return readPassesLarge
	}
	return readPasses
}

// A workload runs one repetition at size in.n into t and returns its
// checksum, or an error when the map gave a wrong result.
type workload struct {
	name string
	str  bool // string keys (sizes from -str-sizes)
	run  func(in *inputs, t *timer) (uint64, error)
}

func sumBelow(n int) uint64 { return uint64(n) * uint64(n-1) / 2 }

func fill(m map[uint64]uint64, keys []uint64) {
	for i, k := range keys {
		m[k] = uint64(i)
	}
}

// keyXorValue is the order-independent content checksum: the wrapping sum
// of k ^ v over every entry.
func keyXorValue(m map[uint64]uint64) uint64 {
	var s uint64
	for k, v := range m {
		s += k ^ v
	}
	return s
}

func clearRounds(n int) int {
	if r := clearWork / n; r > 2 {
		return r
	}
	return 2
}

func churnRounds(n int) int {
	if n > churnMinRound {
		return n
	}
	return churnMinRound
}

func wrong(what string, got, want uint64) error {
	return fmt.Errorf("%s: got %d, want %d", what, got, want)
}

// workloads is every workload, in run order; names match bench/gomap_bench.cpp.
var workloads = []workload{
	{name: "insert_u64", run: func(in *inputs, t *timer) (uint64, error) {
		m := make(map[uint64]uint64) // no hint
		t.time(in.n, func() { fill(m, in.u64.keys) })
		if len(m) != in.n {
			return 0, wrong("insert: len", uint64(len(m)), uint64(in.n))
		}
		return uint64(len(m)), nil
	}},
	{name: "lookup_hit_u64", run: func(in *inputs, t *timer) (uint64, error) {
		m := in.readMap()
		return hitPasses("lookup hit", in, t, func() (sum, found uint64) {
			for _, k := range in.u64.shuffled {
				if v, ok := m[k]; ok {
					sum += v
					found++
				}
			}
			return
		})
	}},
	{name: "lookup_miss_u64", run: func(in *inputs, t *timer) (uint64, error) {
		m := in.readMap()
		var found uint64
		for p := 0; p < in.passes(); p++ {
			found = 0
			t.time(in.n, func() {
				for _, k := range in.u64.misses {
					if _, ok := m[k]; ok {
						found++
					}
				}
			})
		}
		if found != 0 {
			return 0, wrong("lookup miss: found", found, 0)
		}
		return found, nil
	}},
	{name: "iterate_u64", run: func(in *inputs, t *timer) (uint64, error) {
		m := in.readMap()
		var sum, seen uint64
		for p := 0; p < in.passes(); p++ {
			sum, seen = 0, 0
			t.time(in.n, func() {
				for k, v := range m {
					sum += k ^ v
					seen++
				}
			})
			sink += sum
		}
		if seen != uint64(in.n) {
			return 0, wrong("iterate: entries", seen, uint64(in.n))
		}
		return sum, nil
	}},
	{name: "erase_u64", run: func(in *inputs, t *timer) (uint64, error) {
		m := make(map[uint64]uint64)
		fill(m, in.u64.keys)
		t.time(in.n, func() {
			for _, k := range in.u64.shuffled {
				delete(m, k)
			}
		})
		erased := uint64(in.n - len(m))
		if erased != uint64(in.n) {
			return 0, wrong("erase: erased", erased, uint64(in.n))
		}
		return erased, nil
	}},
	{name: "churn_u64", run: func(in *inputs, t *timer) (uint64, error) {
		// Steady size n: round r erases the oldest key, splitmix64(r), and
		// inserts splitmix64(n + r) -> r.
		m := make(map[uint64]uint64)
		fill(m, in.u64.keys)
		rounds := churnRounds(in.n)
		n := uint64(in.n)
		t.time(rounds, func() {
			for r := uint64(0); r < uint64(rounds); r++ {
				delete(m, splitmix64(r))
				m[splitmix64(n+r)] = r
			}
		})
		if len(m) != in.n {
			return 0, wrong("churn: len", uint64(len(m)), n)
		}
		return keyXorValue(m), nil
	}},
	{name: "clear_loop_u64", run: func(in *inputs, t *timer) (uint64, error) {
		// One map; round r inserts the n keys (even r) or the n miss keys
		// (odd r) -> i, then clears. Go 1.19 has no clear builtin: this
		// loop is the idiom the compiler turns into the runtime's mapclear,
		// which is what Go 1.21's clear(m) calls.
		m := make(map[uint64]uint64)
		rounds := clearRounds(in.n)
		var total uint64
		t.time(rounds*in.n, func() {
			for r := 0; r < rounds; r++ {
				src := in.u64.keys
				if r%2 == 1 {
					src = in.u64.misses
				}
				fill(m, src)
				total += uint64(len(m))
				for k := range m {
					delete(m, k)
				}
			}
		})
		if want := uint64(rounds * in.n); total != want || len(m) != 0 {
			return 0, wrong("clear loop: entries inserted", total, want)
		}
		return total, nil
	}},
	{name: "insert_str", str: true, run: func(in *inputs, t *timer) (uint64, error) {
		m := make(map[string]uint64)
		t.time(in.n, func() {
			for i, k := range in.str.strs {
				m[k] = uint64(i)
			}
		})
		if len(m) != in.n {
			return 0, wrong("string insert: len", uint64(len(m)), uint64(in.n))
		}
		return uint64(len(m)), nil
	}},
	{name: "lookup_str", str: true, run: func(in *inputs, t *timer) (uint64, error) {
		if in.strMap == nil {
			in.strMap = make(map[string]uint64)
			for i, k := range in.str.strs {
				in.strMap[k] = uint64(i)
			}
		}
		m := in.strMap
		return hitPasses("string lookup", in, t, func() (sum, found uint64) {
			for _, k := range in.str.shuffled {
				if v, ok := m[k]; ok {
					sum += v
					found++
				}
			}
			return
		})
	}},
}

// hitPasses times the passes of a lookup-hit workload; pass looks up every
// key once (in a loop written for its concrete map type, so Go's fast map
// paths run) and returns the sum of the values it found and their number.
func hitPasses(what string, in *inputs, t *timer, pass func() (sum, found uint64)) (uint64, error) {
	var sum, found uint64
	for p := 0; p < in.passes(); p++ {
		t.time(in.n, func() { sum, found = pass() })
		sink += sum
	}
	if found != uint64(in.n) || sum != sumBelow(in.n) {
		return 0, fmt.Errorf("%s: found %d summing %d, want %d summing %d", what, found, sum, in.n, sumBelow(in.n))
	}
	return sum, nil
}

// measured holds the map bytesPerEntry measures, so that the map certainly
// lives on the heap and stays reachable across the second collection.
var measured map[uint64]uint64

// bytesPerEntry is the live heap a map of n u64 entries (filled with no
// hint) holds, measured as the HeapAlloc difference across collections.
func bytesPerEntry(in *inputs) (float64, uint64) {
	var before, after runtime.MemStats
	// Two collections: right after the input is built, one collection was
	// seen to leave tens of KB that the next one frees, which at 1k entries
	// made the figure 10x too small.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	measured = make(map[uint64]uint64)
	fill(measured, in.u64.keys)
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := uint64(len(measured))
	measured = nil
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(in.n), n
}
