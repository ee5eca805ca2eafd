// gomap-go-bench runs bench/gomap_bench.cpp's workloads on Go's builtin map,
// with the same keys, shuffles and checksums (README.md), and prints one
// JSON object on stdout.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	exitClean   = 0
	exitFinding = 1 // a map gave a wrong result
	exitUsage   = 2
	exitTool    = 3
)

// Cell is one workload at one size. bytes_per_entry cells carry no timing
// fields, timed cells no bytes_per_entry.
type Cell struct {
	Ops           int       `json:"ops,omitempty"`    // ops per timed pass
	Passes        int       `json:"passes,omitempty"` // timed passes per repetition
	Reps          int       `json:"reps"`             // repetitions run
	NsPerOp       float64   `json:"ns_per_op,omitempty"`
	NsPerOpMin    float64   `json:"ns_per_op_min,omitempty"`
	NsPerOpMean   float64   `json:"ns_per_op_mean,omitempty"`
	Samples       []float64 `json:"samples,omitempty"` // ns/op of each repetition
	Checksum      string    `json:"checksum"`          // decimal uint64, the same in every repetition
	BytesPerEntry *float64  `json:"bytes_per_entry,omitempty"`
}

// Report is the JSON document: workloads × sizes.
type Report struct {
	Map        string                     `json:"map"`
	GoVersion  string                     `json:"go_version"`
	GOMAXPROCS int                        `json:"gomaxprocs"`
	Reps       int                        `json:"reps"`
	LargeReps  int                        `json:"large_reps"` // repetitions at sizes above 1M
	Seconds    float64                    `json:"seconds"`
	Workloads  map[string]map[string]Cell `json:"workloads"` // workload -> size (decimal) -> cell
}

type options struct {
	filter    *regexp.Regexp
	sizes     []int
	strSizes  []int
	reps      int
	largeReps int
}

// parseSizes reads "1k,10k,1M,8M" (k = 1000, M = 1000000) or plain numbers.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, tok := range strings.Split(s, ",") {
		f, mult := tok, 1
		switch {
		case strings.HasSuffix(f, "k"):
			f, mult = strings.TrimSuffix(f, "k"), 1000
		case strings.HasSuffix(f, "M"):
			f, mult = strings.TrimSuffix(f, "M"), 1000000
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 100_000_000/mult || n*mult < 2 {
			return nil, fmt.Errorf("size %q is not a count 2..100M (k and M suffixes allowed)", tok)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("gomap-go-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	filter := fs.String("filter", "", "run only workloads whose name matches this regular expression")
	sizes := fs.String("sizes", "1k,10k,100k,1M,8M", "sizes of the u64 workloads and bytes_per_entry")
	strSizes := fs.String("str-sizes", "1M", "sizes of the string workloads")
	reps := fs.Int("reps", 5, "repetitions of each workload at sizes up to 1M")
	largeReps := fs.Int("large-reps", 2, "repetitions at sizes above 1M (capped by -reps)")
	quick := fs.Bool("quick", false, "a fast check: sizes 1k,10k, string size 1k, 2 repetitions")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *quick {
		*sizes, *strSizes, *reps = "1k,10k", "1k", 2
	}
	var o options
	var err error
	if o.filter, err = regexp.Compile(*filter); err != nil {
		return o, fmt.Errorf("-filter: %v", err)
	}
	if o.sizes, err = parseSizes(*sizes); err != nil {
		return o, fmt.Errorf("-sizes: %v", err)
	}
	if o.strSizes, err = parseSizes(*strSizes); err != nil {
		return o, fmt.Errorf("-str-sizes: %v", err)
	}
	if *reps < 1 || *largeReps < 1 {
		return o, errors.New("-reps and -large-reps must be at least 1")
	}
	o.reps, o.largeReps = *reps, *largeReps
	if o.largeReps > o.reps {
		o.largeReps = o.reps
	}
	return o, nil
}

func (o options) repsAt(n int) int {
	if n > 1_000_000 {
		return o.largeReps
	}
	return o.reps
}

func measure(w workload, in *inputs, reps int) (Cell, error) {
	c := Cell{Reps: reps}
	sum := 0.0
	for r := 0; r < reps; r++ {
		var t timer
		cs, err := w.run(in, &t)
		if err != nil {
			return c, fmt.Errorf("%s at %d: %v", w.name, in.n, err)
		}
		if s := strconv.FormatUint(cs, 10); r == 0 {
			c.Checksum = s
		} else if s != c.Checksum {
			return c, fmt.Errorf("%s at %d: checksum %s in repetition %d, %s before", w.name, in.n, s, r, c.Checksum)
		}
		c.Ops, c.Passes = int(t.ops)/t.passes, t.passes
		ns := t.ns / t.ops
		c.Samples = append(c.Samples, ns)
		sum += ns
	}
	sorted := append([]float64(nil), c.Samples...)
	sort.Float64s(sorted)
	c.NsPerOpMin = sorted[0]
	c.NsPerOpMean = sum / float64(reps)
	if k := len(sorted); k%2 == 1 {
		c.NsPerOp = sorted[k/2]
	} else {
		c.NsPerOp = (sorted[k/2-1] + sorted[k/2]) / 2
	}
	return c, nil
}

func bench(o options, stderr io.Writer) (*Report, error) {
	start := time.Now()
	rep := &Report{Map: "go", GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), Reps: o.reps,
		LargeReps: o.largeReps, Workloads: map[string]map[string]Cell{}}
	put := func(name string, n int, c Cell) {
		if rep.Workloads[name] == nil {
			rep.Workloads[name] = map[string]Cell{}
		}
		rep.Workloads[name][strconv.Itoa(n)] = c
	}
	for _, str := range []bool{false, true} {
		sizes := o.sizes
		if str {
			sizes = o.strSizes
		}
		for _, n := range sizes {
			in := &inputs{n: n}
			for _, w := range workloads {
				if w.str != str || !o.filter.MatchString(w.name) {
					continue
				}
				if str && in.str == nil {
					in.str = newStrData(n)
				} else if !str && in.u64 == nil {
					in.u64 = newU64Data(n)
				}
				t0 := time.Now()
				c, err := measure(w, in, o.repsAt(n))
				if err != nil {
					return nil, err
				}
				put(w.name, n, c)
				fmt.Fprintf(stderr, "%-16s %9d  %8.2f ns/op  (%d reps, %.1fs)\n", w.name, n, c.NsPerOp, c.Reps, time.Since(t0).Seconds())
			}
			if !str && o.filter.MatchString("bytes_per_entry") {
				if in.u64 == nil {
					in.u64 = newU64Data(n)
				}
				b, entries := bytesPerEntry(in)
				put("bytes_per_entry", n, Cell{Reps: 1, Checksum: strconv.FormatUint(entries, 10), BytesPerEntry: &b})
				fmt.Fprintf(stderr, "%-16s %9d  %8.2f bytes/entry\n", "bytes_per_entry", n, b)
			}
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "gomap-go-bench: %v\n", err)
		}
		os.Exit(exitUsage)
	}
	rep, err := bench(o, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gomap-go-bench: %v\n", err)
		os.Exit(exitFinding)
	}
	if len(rep.Workloads) == 0 {
		fmt.Fprintln(os.Stderr, "gomap-go-bench: -filter matched no workload")
		os.Exit(exitUsage)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(os.Stderr, "gomap-go-bench: writing the JSON: %v\n", err)
		os.Exit(exitTool)
	}
}
