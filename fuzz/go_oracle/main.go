// gomap-go-oracle runs op programs on a builtin Go 1.19 map, one op line in
// and one reply line out, so a C++ driver can run the real Go runtime in
// lockstep with gomap. The protocol is README.md's.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// Exit codes, as for every gomap tool.
const (
	exitClean = 0
	exitInput = 2 // a line was refused (each got an `error` reply)
	exitTool  = 3 // wrong Go runtime, failed self-check or an internal failure
)

func main() {
	if !strings.HasPrefix(runtime.Version(), "go1.19") {
		fmt.Fprintf(os.Stderr, "gomap-go-oracle: needs the go1.19.x runtime (its hmap layout), running %s\n", runtime.Version())
		os.Exit(exitTool)
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "gomap-go-oracle: takes no arguments; op lines on stdin, replies on stdout (see README.md)")
		os.Exit(exitInput)
	}
	if err := selfCheck(); err != nil {
		fmt.Fprintf(os.Stderr, "gomap-go-oracle: runtime map header self-check failed: %v\n", err)
		os.Exit(exitTool)
	}
	os.Exit(run(os.Stdin, os.Stdout))
}

func newMachine(keytype string) (machine, error) {
	switch keytype {
	case "u64":
		return newSession[uint64](u64Codec{}), nil
	case "f64":
		return newSession[float64](f64Codec{}), nil
	case "string":
		return newSession[string](stringCodec{}), nil
	case "bigkey":
		return newSession[bigKey](bigCodec{}), nil
	case "struct":
		return newSession[structKey](structCodec{}), nil
	}
	return nil, fmt.Errorf("key type %q is not u64, f64, string, bigkey or struct", keytype)
}

// run answers every line of in with exactly one line on out, flushed at
// once, and returns the exit code.
func run(in io.Reader, out io.Writer) int {
	r := bufio.NewReader(in)
	w := bufio.NewWriter(out)
	code := exitClean
	var m machine
	for {
		line, err := r.ReadString('\n')
		if line == "" && err != nil {
			if err != io.EOF {
				fmt.Fprintf(os.Stderr, "gomap-go-oracle: reading stdin: %v\n", err)
				return exitTool
			}
			return code
		}
		reply, fatal := answer(&m, strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		if strings.HasPrefix(reply, "error ") && code == exitClean {
			code = exitInput
		}
		if fatal {
			code = exitTool
		}
		if _, err := w.WriteString(reply + "\n"); err != nil {
			return exitTool
		}
		if err := w.Flush(); err != nil {
			return exitTool // the driver went away
		}
		if fatal {
			return code
		}
	}
}

// answer runs one line. A panic (which would be a bug here, not in the
// input) becomes an `error internal:` reply and ends the run with exit 3.
func answer(m *machine, line string) (reply string, fatal bool) {
	defer func() {
		if p := recover(); p != nil {
			reply, fatal = "error internal: "+strings.ReplaceAll(fmt.Sprint(p), "\n", " "), true
		}
	}()
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "error empty line", false
	}
	op, args := fields[0], fields[1:]
	if op == "keytype" {
		if len(args) != 1 {
			return "error keytype takes 1 argument: keytype u64|f64|string|bigkey|struct", false
		}
		nm, err := newMachine(args[0])
		if err != nil {
			return "error " + err.Error(), false
		}
		*m = nm
		return fmt.Sprintf("ok keytype %s %v", args[0], nm.state()), false
	}
	if *m == nil {
		return "error no map yet: the first line must be keytype u64|f64|string|bigkey|struct", false
	}
	fieldsOut, err := (*m).do(op, args)
	if err != nil {
		return "error " + err.Error(), false
	}
	if fieldsOut != "" {
		fieldsOut += " "
	}
	return fmt.Sprintf("ok %s %s%v", op, fieldsOut, (*m).state()), false
}
