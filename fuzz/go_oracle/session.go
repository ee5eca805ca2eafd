package main

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Slots 0..3 are the C++ executor's; 4 is the driver's own (its full walks of the map
// while the program's iterators are live).
const maxIters = 5

// machine is one map under test, whatever its key type.
type machine interface {
	do(op string, args []string) (string, error)
	state() hmapState
}

// iterSlot is one pausable `for k, v := range m` loop: a reflect.MapIter runs
// the runtime's own mapiterinit/mapiternext.
type iterSlot[K comparable] struct {
	it      *reflect.MapIter // nil: not live
	yielded bool             // it has yielded a key since its start
	last    K                // the key it yielded last
}

type session[K comparable] struct {
	c     codec[K]
	m     map[K]uint64
	iters [maxIters]iterSlot[K]
}

func newSession[K comparable](c codec[K]) *session[K] {
	return &session[K]{c: c, m: make(map[K]uint64)}
}

func (s *session[K]) state() hmapState { return stateOf(s.m) }

func want(op string, args []string, n int, usage string) error {
	if len(args) != n {
		return fmt.Errorf("%s takes %d argument(s): %s %s", op, n, op, usage)
	}
	return nil
}

func parseValue(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("value %q is not a decimal 0..18446744073709551615 without leading zeros", s)
	}
	return v, nil
}

func parseSlot(s string) (int, error) {
	if len(s) != 1 || s[0] < '0' || s[0] >= '0'+maxIters {
		return 0, fmt.Errorf("iterator slot %q is not 0..%d", s, maxIters-1)
	}
	return int(s[0] - '0'), nil
}

func flag01(b bool) int {
	if b {
		return 1
	}
	return 0
}

// do runs one op and returns the reply's fields between the op name and the
// header state.
func (s *session[K]) do(op string, args []string) (string, error) {
	switch op {
	case "new":
		if err := want(op, args, 1, "<hint>"); err != nil {
			return "", err
		}
		hint, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return "", fmt.Errorf("hint %q is not a decimal 0..18446744073709551615", args[0])
		}
		// make's hint is an int: a larger one cannot be written in Go (it
		// would be negative and panic), so it runs as 0, which is also what
		// the runtime does with any hint whose buckets would not fit memory.
		used := hint
		if hint > math.MaxInt64 {
			used = 0
		}
		s.m = make(map[K]uint64, int(used))
		s.iters = [maxIters]iterSlot[K]{}
		return fmt.Sprintf("hint=%d used=%d", hint, used), nil
	case "set", "get", "erase", "incr":
		n := 1
		usage := "<key>"
		if op == "set" {
			n, usage = 2, "<key> <value>"
		}
		if err := want(op, args, n, usage); err != nil {
			return "", err
		}
		k, err := s.c.parse(args[0])
		if err != nil {
			return "", err
		}
		before := len(s.m)
		switch op {
		case "set":
			v, err := parseValue(args[1])
			if err != nil {
				return "", err
			}
			s.m[k] = v
			return fmt.Sprintf("added=%d", len(s.m)-before), nil
		case "get":
			v, ok := s.m[k]
			return fmt.Sprintf("found=%d value=%d", flag01(ok), v), nil
		case "erase":
			delete(s.m, k)
			return fmt.Sprintf("erased=%d", before-len(s.m)), nil
		default:
			s.m[k]++
			return fmt.Sprintf("added=%d value=%d", len(s.m)-before, s.m[k]), nil
		}
	case "len":
		if err := want(op, args, 0, ""); err != nil {
			return "", err
		}
		return fmt.Sprintf("len=%d", len(s.m)), nil
	case "clear":
		mode := "mapclear"
		if len(args) == 1 {
			mode = args[0]
		} else if len(args) > 1 {
			return "", fmt.Errorf("clear takes at most 1 argument: clear [mapclear|rangedelete|fresh]")
		}
		before := len(s.m)
		switch mode {
		case "mapclear":
			mapclear(s.m)
		case "rangedelete":
			n := 0
			for k := range s.m {
				delete(s.m, k)
				n++ // a second statement keeps the compiler from turning this loop into mapclear
			}
		case "fresh":
			s.m = make(map[K]uint64)
		default:
			return "", fmt.Errorf("clear mode %q is not mapclear, rangedelete or fresh", mode)
		}
		return fmt.Sprintf("mode=%s removed=%d", mode, before-len(s.m)), nil
	case "state":
		if err := want(op, args, 0, ""); err != nil {
			return "", err
		}
		st := s.state()
		live := 0
		for _, it := range s.iters {
			live += flag01(it.it != nil)
		}
		return fmt.Sprintf("flags=%d nevacuate=%d live_iters=%d", st.Flags, st.Nevacuate, live), nil
	case "iter_start", "iter_next", "iter_erase_yielded", "iter_set_yielded", "iter_stop":
		return s.iterOp(op, args)
	}
	return "", fmt.Errorf("unknown op %q", op)
}

func (s *session[K]) iterOp(op string, args []string) (string, error) {
	n, usage := 1, "<slot>"
	if op == "iter_set_yielded" {
		n, usage = 2, "<slot> <value>"
	}
	if err := want(op, args, n, usage); err != nil {
		return "", err
	}
	i, err := parseSlot(args[0])
	if err != nil {
		return "", err
	}
	sl := &s.iters[i]
	switch op {
	case "iter_start":
		// Go's mapiterinit already moves to the first entry, so a range loop
		// has its first key the moment it starts: so does this op.
		*sl = iterSlot[K]{it: reflect.ValueOf(s.m).MapRange()}
		return s.advance(i), nil
	case "iter_next":
		if sl.it == nil {
			return fmt.Sprintf("i=%d live=0", i), nil // nothing to advance, as in the C++ executor
		}
		return s.advance(i), nil
	case "iter_stop":
		live := sl.it != nil
		*sl = iterSlot[K]{}
		return fmt.Sprintf("i=%d was_live=%d", i, flag01(live)), nil
	}
	if !sl.yielded {
		// No key to act on (never yielded, finished or stopped): a no-op, as
		// in the C++ executor.
		return fmt.Sprintf("i=%d has_key=0", i), nil
	}
	before := len(s.m)
	if op == "iter_erase_yielded" {
		delete(s.m, sl.last)
		return fmt.Sprintf("i=%d has_key=1 erased=%d", i, before-len(s.m)), nil
	}
	v, err := parseValue(args[1])
	if err != nil {
		return "", err
	}
	s.m[sl.last] = v
	return fmt.Sprintf("i=%d has_key=1 added=%d", i, len(s.m)-before), nil
}

// advance moves iterator i to its next entry and reports it with its
// current value; an exhausted iterator stops being live and forgets its last
// key, as the C++ executor's slots do.
func (s *session[K]) advance(i int) string {
	sl := &s.iters[i]
	if !sl.it.Next() {
		*sl = iterSlot[K]{}
		return fmt.Sprintf("i=%d yielded=0", i)
	}
	sl.last = sl.it.Key().Interface().(K)
	sl.yielded = true
	return fmt.Sprintf("i=%d yielded=1 key=%s value=%d", i, s.c.format(sl.last), sl.it.Value().Uint())
}
