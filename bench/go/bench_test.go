package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"testing"
)

// The reference values in README.md, so the C++ side can check that it
// builds the same data.
func TestSchemeReferenceValues(t *testing.T) {
	// SplitMix64 seeded with 0 starts e220a8397b1dcdaf, 6e789e6aa1b965f4
	// (Vigna's reference generator).
	r := newRNG(0)
	if a, b := r.u64(), r.u64(); a != 0xe220a8397b1dcdaf || b != 0x6e789e6aa1b965f4 {
		t.Errorf("SplitMix64(0) starts %016x %016x", a, b)
	}
	if splitmix64(0) != 0xe220a8397b1dcdaf {
		t.Errorf("splitmix64(0) = %016x", splitmix64(0))
	}
	v := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	shuffle(v, 1)
	if got := fmt.Sprint(v); got != shuffle10Seed1 {
		t.Errorf("shuffle(0..9, seed 1) = %s, want %s", got, shuffle10Seed1)
	}
	if got := stringKey(0); got != stringKey0 || len(got) != strLen {
		t.Errorf("stringKey(0) = %q, want %q", got, stringKey0)
	}
}

const (
	shuffle10Seed1 = "[9 0 1 4 8 2 3 7 6 5]" // also computed by an independent Python version of the scheme
	stringKey0     = "e220a8397b1dcdaf8065b0c5"
)

func TestShuffleIsAPermutation(t *testing.T) {
	v := make([]int, 1000)
	for i := range v {
		v[i] = i
	}
	shuffle(v, 7)
	fixed := 0
	seen := make([]bool, len(v))
	for i, x := range v {
		if seen[x] {
			t.Fatalf("%d twice", x)
		}
		seen[x] = true
		if x == i {
			fixed++
		}
	}
	if fixed > 10 {
		t.Errorf("%d of 1000 elements did not move: not shuffled", fixed)
	}
}

// expectedChecksums computes each workload's checksum from the scheme alone,
// without a Go map.
func expectedChecksums(n int) map[string]uint64 {
	var xor uint64
	for i := 0; i < n; i++ {
		xor += splitmix64(uint64(i)) ^ uint64(i)
	}
	rounds := churnRounds(n)
	var churn uint64
	for j := rounds; j < rounds+n; j++ { // after the rounds: keys j in [rounds, rounds+n)
		v := uint64(j - n) // inserted in round j-n
		if j < n {
			v = uint64(j) // never erased: the original fill
		}
		churn += splitmix64(uint64(j)) ^ v
	}
	return map[string]uint64{
		"insert_u64": uint64(n), "lookup_hit_u64": sumBelow(n), "lookup_miss_u64": 0, "iterate_u64": xor,
		"erase_u64": uint64(n), "churn_u64": churn, "clear_loop_u64": uint64(clearRounds(n) * n),
		"insert_str": uint64(n), "lookup_str": sumBelow(n), "bytes_per_entry": uint64(n),
	}
}

// runBench runs the benchmark as the command line args would.
func runBench(t *testing.T, args ...string) *Report {
	t.Helper()
	o, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSmallRun(t *testing.T) {
	rep := runBench(t, "-sizes", "100,3000", "-str-sizes", "200", "-reps", "2")
	var names []string
	for _, w := range workloads {
		names = append(names, w.name)
	}
	names = append(names, "bytes_per_entry")
	if len(rep.Workloads) != len(names) {
		t.Errorf("%d workloads in the report, want %d", len(rep.Workloads), len(names))
	}
	for _, name := range names {
		sizes := []int{100, 3000}
		if name == "insert_str" || name == "lookup_str" {
			sizes = []int{200}
		}
		for _, n := range sizes {
			c, ok := rep.Workloads[name][strconv.Itoa(n)]
			if !ok {
				t.Errorf("%s at %d missing", name, n)
				continue
			}
			if want := strconv.FormatUint(expectedChecksums(n)[name], 10); c.Checksum != want {
				t.Errorf("%s at %d: checksum %s, want %s", name, n, c.Checksum, want)
			}
			if name == "bytes_per_entry" {
				// Go's map: 144-byte buckets at 6.5 entries or fewer each.
				if c.BytesPerEntry == nil {
					t.Errorf("bytes_per_entry at %d: no figure", n)
				} else if b := *c.BytesPerEntry; b < 144/6.5 || b > 200 {
					t.Errorf("bytes_per_entry at %d: %.2f, not in [144/6.5, 200]", n, b)
				}
			} else if c.Reps != 2 || len(c.Samples) != 2 || c.NsPerOpMin <= 0 || c.NsPerOp < c.NsPerOpMin {
				t.Errorf("%s at %d: %+v", name, n, c)
			}
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
}

func TestFilterAndSizes(t *testing.T) {
	rep := runBench(t, "-filter", "^lookup_(hit|miss)", "-sizes", "1k", "-str-sizes", "1k", "-reps", "1")
	var got []string
	for name, sizes := range rep.Workloads {
		for n := range sizes {
			got = append(got, name+"@"+n)
		}
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[lookup_hit_u64@1000 lookup_miss_u64@1000]" {
		t.Errorf("ran %v", got)
	}
	if s, err := parseSizes("1k,10k,1M,8M,77"); err != nil || fmt.Sprint(s) != "[1000 10000 1000000 8000000 77]" {
		t.Errorf("parseSizes: %v %v", s, err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-sizes", "1x"}, {"-sizes", "1"}, {"-sizes", ""}, {"-sizes", "200M"}, {"-str-sizes", "k"},
		{"-filter", "("}, {"-reps", "0"}, {"-large-reps", "-1"}, {"extra"}, {"-nope"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
