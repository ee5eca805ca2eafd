package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// script runs lines through the protocol and returns the replies and the exit code.
func script(t *testing.T, lines ...string) ([]string, int) {
	t.Helper()
	var out strings.Builder
	code := run(strings.NewReader(strings.Join(lines, "\n")+"\n"), &out)
	replies := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(replies) != len(lines) {
		t.Fatalf("%d lines got %d replies:\n%s", len(lines), len(replies), out.String())
	}
	return replies, code
}

// fields reads a reply's key=value tokens.
func fields(reply string) map[string]string {
	f := map[string]string{}
	for _, tok := range strings.Fields(reply) {
		if k, v, ok := strings.Cut(tok, "="); ok {
			f[k] = v
		}
	}
	return f
}

func TestTranscript(t *testing.T) {
	want := []string{
		"keytype u64", "ok keytype u64 B=0 count=0 growing=0 noverflow=0",
		"set 7 70", "ok set added=1 B=0 count=1 growing=0 noverflow=0",
		"set 7 71", "ok set added=0 B=0 count=1 growing=0 noverflow=0",
		"get 7", "ok get found=1 value=71 B=0 count=1 growing=0 noverflow=0",
		"get 8", "ok get found=0 value=0 B=0 count=1 growing=0 noverflow=0",
		"incr 8", "ok incr added=1 value=1 B=0 count=2 growing=0 noverflow=0",
		"incr 8", "ok incr added=0 value=2 B=0 count=2 growing=0 noverflow=0",
		"erase 9", "ok erase erased=0 B=0 count=2 growing=0 noverflow=0",
		"erase 7", "ok erase erased=1 B=0 count=1 growing=0 noverflow=0",
		"len", "ok len len=1 B=0 count=1 growing=0 noverflow=0",
		"iter_start 2", "ok iter_start i=2 yielded=1 key=8 value=2 B=0 count=1 growing=0 noverflow=0",
		"iter_set_yielded 2 5", "ok iter_set_yielded i=2 has_key=1 added=0 B=0 count=1 growing=0 noverflow=0",
		"iter_next 2", "ok iter_next i=2 yielded=0 B=0 count=1 growing=0 noverflow=0",
		"iter_next 2", "ok iter_next i=2 live=0 B=0 count=1 growing=0 noverflow=0",
		"iter_erase_yielded 2", "ok iter_erase_yielded i=2 has_key=0 B=0 count=1 growing=0 noverflow=0",
		"get 8", "ok get found=1 value=5 B=0 count=1 growing=0 noverflow=0",
		"iter_start 3", "ok iter_start i=3 yielded=1 key=8 value=5 B=0 count=1 growing=0 noverflow=0",
		"iter_erase_yielded 3", "ok iter_erase_yielded i=3 has_key=1 erased=1 B=0 count=0 growing=0 noverflow=0",
		"iter_stop 3", "ok iter_stop i=3 was_live=1 B=0 count=0 growing=0 noverflow=0",
		"iter_stop 3", "ok iter_stop i=3 was_live=0 B=0 count=0 growing=0 noverflow=0",
		"new 100", "ok new hint=100 used=100 B=4 count=0 growing=0 noverflow=0",
		"new 4611686018427387904", "ok new hint=4611686018427387904 used=4611686018427387904 B=0 count=0 growing=0 noverflow=0",
		"new 18446744073709551615", "ok new hint=18446744073709551615 used=0 B=0 count=0 growing=0 noverflow=0",
		"set 18446744073709551615 18446744073709551615", "ok set added=1 B=0 count=1 growing=0 noverflow=0",
		"clear", "ok clear mode=mapclear removed=1 B=0 count=0 growing=0 noverflow=0",
	}
	var lines []string
	for i := 0; i < len(want); i += 2 {
		lines = append(lines, want[i])
	}
	replies, code := script(t, lines...)
	for i, r := range replies {
		if r != want[2*i+1] {
			t.Errorf("%q replied\n  %q, want\n  %q", lines[i], r, want[2*i+1])
		}
	}
	if code != exitClean {
		t.Errorf("exit %d, want 0", code)
	}
}

func TestBadLinesReplyErrorAndExit2(t *testing.T) {
	// Each line with whether it is accepted; every other line is refused.
	lines := []struct {
		line string
		ok   bool
	}{
		{"set 1 2", false}, // before keytype
		{"keytype u32", false}, {"keytype", false}, {"keytype u64", true},
		{"", false}, {"fly 1", false}, {"set 1", false}, {"set 01 2", false}, {"set -1 2", false},
		{"get 18446744073709551616", false}, {"set 1 x", false}, {"iter_start 5", false}, {"iter_next", false},
		{"clear sometimes", false}, {"new -3", false}, {"len 1", false},
		{"keytype f64", true}, {"get 0", false}, {"get 00000000000000000", false}, {"get 000000000000000g", false},
		{"keytype string", true}, {"get 6", false}, {"get xy", false}, {"get ", false},
		{"keytype bigkey", true}, {"get 00", false},
		{"keytype struct", true}, {"get 0000000000000000", false}, {"get 0000000000000000:zz", false}, {"get 00:61", false},
	}
	var in []string
	for _, l := range lines {
		in = append(in, l.line)
	}
	replies, code := script(t, in...)
	for i, r := range replies {
		good := strings.HasPrefix(r, "ok ")
		refused := strings.HasPrefix(r, "error ") && len(r) > len("error ")
		if good != lines[i].ok || (!good && !refused) {
			t.Errorf("%q replied %q", lines[i].line, r)
		}
	}
	if code != exitInput {
		t.Errorf("exit %d, want 2", code)
	}
}

// The driver reads each reply before it writes the next op: every reply
// must be flushed at once.
func TestLockstepOverPipes(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int)
	go func() { done <- run(inR, outW); outW.Close() }()
	replies := bufio.NewReader(outR)
	for _, line := range []string{"keytype string", "set 6162 1", "get 6162", "get -", "len"} {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() { r, _ := replies.ReadString('\n'); got <- r }()
		var r string
		select {
		case r = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply to %q within 10s: replies are not flushed line by line", line)
		}
		if !strings.HasPrefix(r, "ok ") {
			t.Errorf("%q replied %q", line, r)
		}
	}
	inW.Close()
	if code := <-done; code != exitClean {
		t.Errorf("exit %d", code)
	}
}

func TestKeyFormsRoundTrip(t *testing.T) {
	big := strings.Repeat("00", 160)
	big = "ff" + big[2:318] + "01"
	cases := []struct{ keytype, key string }{
		{"u64", "0"}, {"u64", "18446744073709551615"},
		{"f64", "7ff8000000000001"}, {"f64", "8000000000000000"}, {"f64", "fff0000000000000"},
		{"string", "-"}, {"string", "00ff20"},
		{"bigkey", big},
		{"struct", "8000000000000000:-"}, {"struct", "7ff0000000000001:6b30"},
	}
	for _, c := range cases {
		replies, code := script(t, "keytype "+c.keytype, "set "+c.key+" 9", "iter_start 0")
		if got := fields(replies[2])["key"]; got != c.key || code != 0 {
			t.Errorf("%s key %s came back as %q (exit %d)", c.keytype, c.key, got, code)
		}
	}
	if unsafe.Sizeof(bigKey{}) <= 128 {
		t.Errorf("bigKey is %d bytes: Go would store it inline, not indirectly", unsafe.Sizeof(bigKey{}))
	}
}

// NaN != NaN: each set adds an entry that get and erase never find, that
// iteration yields once with its payload, that range-and-delete cannot
// remove and that mapclear removes.
func TestNaNKeys(t *testing.T) {
	for _, kc := range []struct{ keytype, a, b string }{
		{"f64", "7ff8000000000000", "fff8000000000123"},
		{"struct", "7ff8000000000000:61", "fff8000000000123:61"},
	} {
		lines := []string{"keytype " + kc.keytype, "set " + kc.a + " 1", "set " + kc.a + " 2", "set " + kc.b + " 3",
			"get " + kc.a, "erase " + kc.b, "iter_start 0", "iter_next 0", "iter_next 0", "iter_next 0",
			"clear rangedelete", "clear mapclear"}
		replies, _ := script(t, lines...)
		for i, want := range []string{"count=1", "count=2", "count=3", "found=0", "erased=0", "", "", "", "yielded=0",
			"removed=0 B=0 count=3", "removed=3 B=0 count=0"} {
			if !strings.Contains(replies[i+1], want) {
				t.Errorf("%s: %q replied %q, want %q in it", kc.keytype, lines[i+1], replies[i+1], want)
			}
		}
		yields := map[string]int{}
		for _, r := range replies[6:9] {
			f := fields(r)
			yields[f["key"]+" "+f["value"]]++
		}
		want := map[string]int{kc.a + " 1": 1, kc.a + " 2": 1, kc.b + " 3": 1}
		if fmt.Sprint(yields) != fmt.Sprint(want) {
			t.Errorf("%s: iteration yielded %v, want each NaN entry once: %v", kc.keytype, yields, want)
		}
	}
}

// -0 and +0 are one key, and writing one over the other rewrites the stored
// key (Go's needkeyupdate for floats and structs holding them).
func TestSignedZeroIsOneKeyAndTheStoredKeyUpdates(t *testing.T) {
	for _, kc := range []struct{ keytype, pos, neg string }{
		{"f64", "0000000000000000", "8000000000000000"},
		{"struct", "0000000000000000:6c", "8000000000000000:6c"},
	} {
		replies, _ := script(t, "keytype "+kc.keytype, "set "+kc.pos+" 1", "set "+kc.neg+" 2", "iter_start 0",
			"incr "+kc.pos, "iter_start 1", "get "+kc.neg)
		if f := fields(replies[3]); f["key"] != kc.neg || f["value"] != "2" || f["count"] != "1" {
			t.Errorf("%s: after set +0, set -0: %q, want the one entry keyed -0 with value 2", kc.keytype, replies[3])
		}
		// m[k]++ assigns through mapassign too, so +0 is stored again.
		if f := fields(replies[5]); f["key"] != kc.pos || f["value"] != "3" {
			t.Errorf("%s: after incr +0: %q, want key +0 value 3", kc.keytype, replies[5])
		}
		if f := fields(replies[6]); f["found"] != "1" || f["value"] != "3" {
			t.Errorf("%s: get -0 replied %q", kc.keytype, replies[6])
		}
	}
}

// B doubles when a new key would exceed 6.5 entries per bucket, and the
// growth from B=2 is still in progress after the insert that starts it.
func TestGrowthPointsReadFromTheHeader(t *testing.T) {
	lines := []string{"keytype u64"}
	for i := 1; i <= 60; i++ {
		lines = append(lines, fmt.Sprintf("set %d %d", i*7919, i))
	}
	replies, _ := script(t, lines...)
	for n, want := range map[int]string{8: "B=0", 9: "B=1", 13: "B=1", 14: "B=2", 26: "B=2 count=26 growing=0",
		27: "B=3 count=27 growing=1", 52: "B=3", 53: "B=4"} {
		if !strings.Contains(replies[n], want) {
			t.Errorf("after %d inserts: %q, want %q", n, replies[n], want)
		}
	}
	for n := 1; n <= 60; n++ {
		if f := fields(replies[n]); f["count"] != fmt.Sprint(n) {
			t.Errorf("after %d inserts the header count reads %s", n, f["count"])
		}
	}
}

func TestHeaderSelfCheck(t *testing.T) {
	if err := selfCheck(); err != nil {
		t.Fatal(err)
	}
}

// Iteration with deletes, inserts and a growth in the middle: Go's
// guarantees hold for what the real runtime yields.
func TestIterationWithDeletesAndGrowth(t *testing.T) {
	const n = 200
	lines := []string{"keytype u64"}
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf("set %d %d", i, i))
	}
	lines = append(lines, "iter_start 1")
	// Between yields: erase the yielded key, erase a key that may not have been
	// reached yet, insert a new one (forcing growth on the way).
	for j := 0; j < 3*n; j++ {
		lines = append(lines, "iter_erase_yielded 1", fmt.Sprintf("erase %d", (j*37)%n), fmt.Sprintf("set %d 1", 1000+j), "iter_next 1")
	}
	replies, code := script(t, lines...)
	seen := map[string]bool{}
	erased := map[string]bool{}
	grew := false
	finished := false
	for i, line := range lines {
		f := fields(replies[i])
		if f["growing"] == "1" {
			grew = true
		}
		if strings.HasPrefix(line, "erase ") && f["erased"] == "1" {
			erased[strings.Fields(line)[1]] = true
		}
		if f["yielded"] == "1" {
			k := f["key"]
			if seen[k] {
				t.Fatalf("%q: key %s yielded twice", line, k)
			}
			if erased[k] {
				t.Fatalf("%q: key %s yielded after it was erased", line, k)
			}
			seen[k] = true
		}
		if f["yielded"] == "0" {
			finished = true
		}
	}
	if !finished || !grew || code != 0 {
		t.Fatalf("finished=%v grew=%v exit=%d: the test did not reach what it is about", finished, grew, code)
	}
	for i := 0; i < n; i++ {
		if k := fmt.Sprint(i); !seen[k] && !erased[k] {
			t.Errorf("key %s was present throughout but never yielded", k)
		}
	}
}

// clear fresh replaces the map: a live iterator goes on over the old one,
// as a range loop over m would after m = make(...).
func TestClearModes(t *testing.T) {
	replies, _ := script(t, "keytype u64", "new 100", "set 1 1", "set 2 2", "iter_start 0", "clear fresh", "iter_next 0", "clear rangedelete")
	if f := fields(replies[5]); f["B"] != "0" || f["removed"] != "2" {
		t.Errorf("clear fresh: %q, want B=0 removed=2", replies[5])
	}
	if f := fields(replies[6]); f["yielded"] != "1" {
		t.Errorf("after clear fresh the old iteration goes on: %q", replies[6])
	}
	if f := fields(replies[7]); f["removed"] != "0" {
		t.Errorf("clear rangedelete of an empty map: %q", replies[7])
	}
	replies, _ = script(t, "keytype string", "new 100", "set 61 1", "set 62 2", "clear", "clear rangedelete")
	if f := fields(replies[4]); f["B"] != "4" || f["removed"] != "2" || f["count"] != "0" {
		t.Errorf("mapclear keeps B: %q", replies[4])
	}
}

// The test binary runs as the program itself when this is set, so the
// tests below see real exit codes, stdout and stderr.
const asMainEnv = "GOMAP_GO_ORACLE_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

func TestProcessExitCodes(t *testing.T) {
	for _, c := range []struct {
		args    []string
		stdin   string
		code    int
		replies int    // lines on stdout
		stdout  string // a prefix of it
		stderr  int    // lines on stderr
	}{
		{nil, "", 0, 0, "", 0},
		{nil, "keytype u64\nset 1 2\nget 1\n", 0, 3, "ok keytype u64 B=0 count=0 growing=0 noverflow=0\nok set added=1", 0},
		{nil, "keytype u64\nset 1\nlen\n", 2, 3, "ok keytype u64 B=0 count=0 growing=0 noverflow=0\nerror set takes 2 argument(s)", 0},
		{nil, "keytype u64\nget 1", 0, 2, "ok keytype u64", 0}, // a last line without a newline is still a line
		{[]string{"-v"}, "keytype u64\n", 2, 0, "", 1},
	} {
		cmd := exec.Command(os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), asMainEnv+"=1")
		cmd.Stdin = strings.NewReader(c.stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || strings.Count(stdout.String(), "\n") != c.replies || !strings.HasPrefix(stdout.String(), c.stdout) ||
			strings.Count(stderr.String(), "\n") != c.stderr {
			t.Errorf("args %q stdin %q: exit %d, stdout %q, stderr %q", c.args, c.stdin, code, stdout.String(), stderr.String())
		}
	}
}

// What README.md says about clearing under a live iterator: after mapclear
// the iterator can still yield removed entries (those left in an overflow
// bucket outside the zeroed array, rare: about 1 pause point in 700 here);
// after rangedelete it never yields a removed one.
func TestClearUnderALiveIterator(t *testing.T) {
	staleAfter := func(mode string, pause, salt int) int {
		s := newSession[uint64](u64Codec{})
		for i := 0; i < 200; i++ {
			s.m[uint64(i*7919+salt)] = uint64(i)
		}
		if _, err := s.do("iter_start", []string{"0"}); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < pause; j++ {
			s.do("iter_next", []string{"0"})
		}
		if _, err := s.do("clear", []string{mode}); err != nil || len(s.m) != 0 {
			t.Fatalf("clear %s: %v, len %d", mode, err, len(s.m))
		}
		n := 0
		for {
			r, _ := s.do("iter_next", []string{"0"})
			if !strings.Contains(r, "yielded=1") {
				return n
			}
			n++
		}
	}
	found := false
	for run := 0; run < 40000 && !found; run++ {
		found = staleAfter("mapclear", 1+run%199, run/199) > 0
	}
	if !found {
		t.Error("mapclear under a live iterator never let it yield a removed entry in 40000 tries: README.md's account is wrong")
	}
	for run := 0; run < 2000; run++ {
		if n := staleAfter("rangedelete", 1+run%199, run/199); n > 0 {
			t.Fatalf("rangedelete under a live iterator: it yielded %d removed entries", n)
		}
	}
}
