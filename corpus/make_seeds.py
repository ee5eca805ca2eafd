#!/usr/bin/env python3
"""Writes the seed programs of every fuzz target in the text form.

corpus/seeds/<target>/<name>.txt are the sources people read and edit;
corpus/build.sh compiles them with `gomap-replay --to-binary` (the one encoder)
into corpus/<target>/<name>.bin, which is what libFuzzer starts from.

Each seed drives one scenario the engine must survive: growth under a live
iterator, same-size growth, clear in the middle of an iteration (also during
a growth), NaN storms, tombstone patterns, and erasing every key in range.

Seeds are written without deep mode: libFuzzer's mutants inherit the config
byte, and a corpus that runs check_invariants() after every op fuzzes at a
fraction of the speed. Mutation still reaches deep mode (two bits), and ctest
replays the corpus with --deep.
"""
import os
import sys

TARGETS = {
    # target: (domains to write seeds for, is the double target)
    "map_u64": [0, 1, 2],
    "map_string": [0, 1, 2],
    "map_double": [0, 1, 2],
    "map_bigkey": [0, 1, 2],
    "map_collide": [0, 1, 2, 3, 5],
    "map_struct": [0, 1, 2],
}


def program(target, domain, ops, seed=1, hint=0, deep=0):
    head = [f"target {target}", f"domain {domain}", f"seed {seed}", f"hint {hint}", f"deep {deep}"]
    return "\n".join(head + ops + ["check"]) + "\n"


def growth_under_iterator(n=60):
    ops = [f"set {i} {i % 200 + 1}" for i in range(10)]
    ops += ["iter_start 0"]
    for i in range(10, n):
        ops += [f"set {i} {i % 200 + 1}", "iter_next 0"]
        if i % 7 == 0:
            ops += ["iter_set_yielded 0 9", f"get {i - 3}"]
    ops += ["iter_next 0"] * 40
    return ops


def clear_mid_iteration():
    ops = [f"set {i} {i + 1}" for i in range(30)]
    ops += ["iter_start 0", "iter_next 0", "iter_next 0", "iter_start 1"]
    ops += ["iter_next 0"] * 5 + ["clear"] + ["iter_next 0", "iter_next 1"] * 4
    ops += [f"set {i} 7" for i in range(5)] + ["iter_next 0"] * 10 + ["iter_next 1"] * 10
    # clear while a growth is in progress and an iterator stands in old buckets
    ops += [f"set {i} {i % 100 + 1}" for i in range(27)] + ["iter_start 2", f"set 27 1", "iter_next 2", "set 28 2", "clear"]
    ops += ["iter_next 2"] * 8 + ["len"]
    return ops


def tombstones():
    ops = [f"set {i} {i + 1}" for i in range(16)]
    ops += [f"erase {i}" for i in range(0, 16, 2)]
    ops += [f"set {i} 3" for i in range(0, 16, 4)]
    ops += [f"erase {i}" for i in reversed(range(16))]
    ops += [f"incr {i}" for i in range(4)] + [f"incr {i}" for i in range(4)] + ["len", "get 1"]
    ops += ["clear", "incr 2", "get 2"]
    return ops


def erase_all_in_range(n=40):
    ops = [f"set {i} {i + 1}" for i in range(n)] + ["iter_start 0"]
    ops += ["iter_erase_yielded 0", "iter_next 0"] * (n + 2) + ["len"]
    return ops


def nan_storm():
    # map_double domain 0: key codes 0, 1, 2 are NaNs; 3 and 4 are +0.0 and -0.0.
    ops = []
    for i in range(24):
        ops += [f"set {i % 3} {i + 1}", f"set {3 + (i % 2)} {i + 1}"]
    ops += ["iter_start 0"] + [f"set {16 + 5 + i} 1" for i in range(11)] + ["iter_next 0"] * 30
    ops += ["erase 0", "get 1", "incr 2", "len", "clear", "len", "set 4 1", "set 3 2", "get 4"]
    return ops


def same_size_growth():
    # with a one-bucket hash, erase churn leaves overflow buckets behind
    ops = []
    for round_ in range(6):
        ops += [f"set {round_ * 20 + i} {i + 1}" for i in range(20)]
        ops += [f"erase {round_ * 20 + i}" for i in range(0, 20, 2)]
        ops += ["iter_start 0", "iter_next 0", "iter_next 0"]
    ops += ["iter_next 0"] * 20 + ["compact", "copy_compare"]
    return ops


def copy_compact_newmap():
    ops = [f"set {i} {i + 1}" for i in range(50)] + ["copy_compare"]
    ops += [f"erase {i}" for i in range(45)] + ["compact", "copy_compare", "len"]
    ops += ["new_map 26 9"] + [f"set {i} 1" for i in range(27)] + ["new_map 18446744073709551615 3", "set 1 1", "len"]
    return ops


SCENARIOS = {
    "growth_under_iterator": growth_under_iterator,
    "clear_mid_iteration": clear_mid_iteration,
    "tombstones": tombstones,
    "erase_all_in_range": erase_all_in_range,
    "same_size_growth": same_size_growth,
    "copy_compact_newmap": copy_compact_newmap,
}


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    written = 0
    for target, domains in TARGETS.items():
        out = os.path.join(root, "seeds", target)
        os.makedirs(out, exist_ok=True)
        scenarios = dict(SCENARIOS)
        if target in ("map_double", "map_struct"):
            scenarios["nan_storm"] = nan_storm
        for d in domains:
            for name, make in scenarios.items():
                path = os.path.join(out, f"{name}_d{d}.txt")
                with open(path, "w") as f:
                    f.write(program(target, d, make(), seed=d + 1))
                written += 1
    print(f"wrote {written} seed programs", file=sys.stderr)


if __name__ == "__main__":
    main()
