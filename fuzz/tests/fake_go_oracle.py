#!/usr/bin/env python3
"""A stand-in for gomap-go-oracle that speaks its line protocol
(fuzz/go_oracle/README.md) for u64 keys without iteration order tricks, and
lies on purpose, so that go_lockstep_test.py can show gomap-go-lockstep
catching each kind of disagreement. B follows Go's load-factor rule (no
same-size growth: the test programs only insert and look up).

FAKE_GO_LIE (environment): "" honest; "B" reports B one too high from the
20th reply on; "get" returns a wrong value for key 3; "die" exits after 10
replies; "refuse" answers `error` to the 5th line.
"""
import os
import sys

lie = os.environ.get("FAKE_GO_LIE", "")
m, B, order, iters = {}, 0, [], {}
replies = 0


def over(count, b):
    return count > 8 and count > 13 * ((1 << b) // 2)


def header():
    b = B + (1 if lie == "B" and replies >= 20 else 0)
    return f"B={b} count={len(m)} growing=0 noverflow=0"


for line in sys.stdin:
    replies += 1
    if lie == "die" and replies > 10:
        sys.exit(3)
    f = line.split()
    op, args = f[0], f[1:]
    if lie == "refuse" and replies == 5:
        out = "error refused on purpose"
    elif op == "keytype":
        m, B, iters = {}, 0, {}
        out = f"ok keytype {args[0]} {header()}"
    elif op == "new":
        m, iters, hint = {}, {}, int(args[0])
        B = 0
        while hint < (1 << 48) // 8 and over(hint, B):
            B += 1
        out = f"ok new hint={hint} used={hint} {header()}"
    elif op in ("set", "incr"):
        k = int(args[0])
        added = k not in m
        if added and over(len(m) + 1, B):
            B += 1
        m[k] = int(args[1]) if op == "set" else m.get(k, 0) + 1
        extra = f" value={m[k]}" if op == "incr" else ""
        out = f"ok {op} added={int(added)}{extra} {header()}"
    elif op == "get":
        k = int(args[0])
        v = m.get(k, 0) + (1 if lie == "get" and k == 3 and k in m else 0)
        out = f"ok get found={int(k in m)} value={v} {header()}"
    elif op == "erase":
        k = int(args[0])
        out = f"ok erase erased={int(m.pop(k, None) is not None)} {header()}"
    elif op == "len":
        out = f"ok len len={len(m)} {header()}"
    elif op == "clear":
        m = {}
        out = f"ok clear mode={args[0] if args else 'mapclear'} removed=0 {header()}"
    elif op in ("iter_start", "iter_next"):
        i = int(args[0])
        if op == "iter_start":
            iters[i] = sorted(m)
        if iters.get(i):
            k = iters[i].pop(0)
            out = f"ok {op} i={i} yielded=1 key={k} value={m[k]} {header()}"
        else:
            iters.pop(i, None)
            out = f"ok {op} i={i} yielded=0 {header()}"
    else:
        out = f"error unknown op {op}"
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
