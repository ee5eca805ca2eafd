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

The targets come from the one registry (`gomap-replay --list-targets`): a
registered target without seed data here is an error, not a silent skip.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REPLAY = os.path.join(HERE, "..", "build", "dev", "fuzz", "gomap-replay")

# The key domains to write the scenario seeds for, where not every domain of
# the target (`gomap-replay --list-targets` gives the count).
SCENARIO_DOMAINS = {"map_collide": [0, 1, 2, 3, 5]}


# The domain each target's state-matrix seeds use: at least 40 distinct keys,
# and NaN keys at codes 0 and 32 for the NaN targets.
STATE_MATRIX_DOMAIN = {"map_u64": 1, "map_string": 0, "map_double": 2, "map_bigkey": 1, "map_collide": 4,
                       "map_struct": 2}


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


# ---- the state matrix (fuzz/README.md, "State space"): each whole-map op
# (clear, compact, copy, move) in every combination of NaN entries, growth
# state and iterator phase that a generic program can set up. A block starts
# from a fresh map, so one program covers one (NaN, growth, iterator) cell.
WHOLE_MAP_OPS = ["clear", "compact", "copy_compare", "move_map"]


def key_codes(n, start=2):
    """n key codes that are distinct non-NaN, non-zero keys in every target's
    state-matrix domain (in map_double/map_struct domain 2, codes = 0, 1 mod 32
    are NaN and -0)."""
    out, c = [], start
    while len(out) < n:
        if c % 32 not in (0, 1):
            out.append(c)
        c += 1
    return out


def state_block(growth, iterator, nan, op, seed):
    keys = key_codes(40)
    ops = [f"new_map 0 {seed}"]
    if nan:
        ops += ["set 0 1", "set 32 2"]  # NaN keys (map_double/map_struct domain 2)
    have = 2 if nan else 0
    def fill(upto):
        nonlocal have
        while have < upto:
            ops.append(f"set {keys[have]} {have % 200 + 1}")
            have += 1
    # Doubling: B 2 -> 3 starts at the 27th entry, and each write evacuates at
    # most two of the four old buckets, so the growth is still running after
    # it. No growth: for "before", a growth (B 1 -> 2 at the 14th entry, done
    # two writes later) starts and finishes after the iterator started.
    iterator_at, last = (20, 27) if growth == "doubling" else (10, 18 if iterator == "before" else 10)
    fill(iterator_at if iterator == "before" else last)
    if iterator != "none":
        ops += ["iter_start 0", "iter_next 0"]
    fill(last)
    ops.append(op)
    ops += ["iter_next 0"] * 4
    return ops


# Same-size growth needs as many overflow buckets as buckets, which a real
# hash gives only for keys chosen by bucket. These recipes were found by
# corpus/tools/same_size_recipe.cpp (build and run it as its header says)
# against the engine: per target, (domain, map seed, 9 key codes of bucket a,
# 9 of bucket b, 17 of bucket c, one more code) for a map made with hint 26
# (B = 2). If the engine's hash changes they stop reaching same-size growth,
# and ci/fuzz.sh's state-coverage table shows it; rerun the tool then.
SAME_SIZE_RECIPES = {
    "map_u64": (1, 1, [9, 11, 13, 15, 20, 22, 24, 26, 28], [2, 3, 4, 5, 6, 7, 30, 31, 38], [8, 10, 12, 14, 21, 23, 25, 27, 29, 35, 37, 39, 48, 63, 71, 73, 75], 40),
    "map_string": (1, 0, [2, 6, 30, 34, 44, 45, 47, 55, 63], [5, 14, 18, 23, 26, 36, 37, 40, 41], [3, 7, 8, 11, 13, 16, 20, 21, 25, 35, 38, 42, 43, 49, 53, 54, 58], 50),
    "map_double": (2, 0, [3, 4, 5, 12, 16, 17, 19, 28, 29], [6, 7, 11, 24, 25, 26, 27, 35, 37], [8, 9, 10, 44, 53, 55, 57, 59, 61, 63, 69, 73, 74, 77, 82, 86, 90], 39),
    "map_bigkey": (1, 0, [6, 10, 15, 19, 29, 30, 31, 34, 38], [3, 16, 21, 22, 23, 24, 25, 28, 41], [2, 5, 13, 17, 18, 26, 36, 37, 39, 40, 43, 47, 56, 57, 62, 67, 70], 51),
    "map_collide": (6, 2, [8, 10, 12, 22, 28, 29, 30, 34, 41], [2, 4, 9, 13, 16, 31, 35, 40, 48], [3, 5, 7, 17, 20, 23, 24, 25, 38, 43, 44, 46, 47, 53, 67, 68, 71], 50),
    "map_struct": (2, 0, [3, 4, 16, 17, 28, 29, 30, 31, 45], [6, 7, 10, 11, 24, 25, 26, 27, 35], [8, 9, 15, 44, 46, 49, 53, 55, 57, 59, 63, 69, 74, 77, 78, 82, 86], 37),
}


def same_size_block(recipe, iterator, nan, op):
    _domain, seed, a, b, c, trigger = recipe
    ops = [f"new_map 26 {seed}"]
    ops += [f"set {k} 1" for k in a] + [f"erase {k}" for k in a[:7]]   # one overflow bucket
    ops += [f"set {k} 2" for k in b] + [f"erase {k}" for k in b[:7]]   # a second one
    if nan:
        ops += ["set 0 3", "set 32 4"]
    ops += [f"set {k} 5" for k in c]                                   # two more: noverflow = 4 = 2^B
    if iterator == "before":
        ops += ["iter_start 0", "iter_next 0"]
    ops.append(f"set {trigger} 6")                                     # a new key: same-size growth starts
    if iterator == "during":
        ops += ["iter_start 0", "iter_next 0"]
    return ops + [op] + ["iter_next 0"] * 4


SCENARIOS = {
    "growth_under_iterator": growth_under_iterator,
    "clear_mid_iteration": clear_mid_iteration,
    "tombstones": tombstones,
    "erase_all_in_range": erase_all_in_range,
    "same_size_growth": same_size_growth,
    "copy_compact_newmap": copy_compact_newmap,
}


def base_target(target):
    """The gomap target whose key domains a target shares: itself, or for an
    engine-adapter target `<engine>_<keys>` (std_u64, absl_u64, ...: see
    targets.hpp) the gomap target `map_<keys>`. Its seeds are the base's
    (programs name their own target), so a new engine needs no tables here."""
    if target.startswith("map_"):
        return target
    return "map_" + target.split("_", 1)[1]


def fail(status, message):
    """One line on stderr and the exit status: 2 bad usage or input, 3 the environment."""
    print(f"make_seeds.py: error: {message}", file=sys.stderr)
    sys.exit(status)


def registry(replay):
    """The targets, from the one registry (targets.hpp) via the replay tool:
    [(name, domain count, has NaN keys)] in id order."""
    try:
        out = subprocess.run([replay, "--list-targets"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail(3, f"cannot run {replay} --list-targets ({e}); build it with: "
                "cmake --build --preset dev --target gomap-replay")
    targets = []
    for line in out.splitlines():
        name, _id, domains, nan = line.split("\t")[:4]
        targets.append((name, int(domains), nan == "nan"))
    if not targets:  # writing nothing is not a success
        fail(3, f"{replay} --list-targets listed no target")
    return targets


def main():
    parser = argparse.ArgumentParser(
        description="Write the text seed programs corpus/seeds/<target>/*.txt of every fuzz target "
                    "(then run corpus/build.sh to compile them).")
    parser.add_argument("--replay", default=DEFAULT_REPLAY,
                        help="the gomap-replay binary that lists the targets (default: build/dev/fuzz/gomap-replay)")
    args = parser.parse_args()
    written = 0
    for target, domain_count, has_nan in registry(os.path.abspath(args.replay)):
        base = base_target(target)
        missing = [table for table, have in (("STATE_MATRIX_DOMAIN", STATE_MATRIX_DOMAIN),
                                             ("SAME_SIZE_RECIPES", SAME_SIZE_RECIPES)) if base not in have]
        if missing:
            fail(2, f"no seeds for target {target}: add {base} to {' and '.join(missing)}")
        domains = SCENARIO_DOMAINS.get(base, list(range(domain_count)))
        out = os.path.join(HERE, "seeds", target)
        os.makedirs(out, exist_ok=True)
        scenarios = dict(SCENARIOS)
        nan_cases = (False, True) if has_nan else (False,)
        if has_nan:
            scenarios["nan_storm"] = nan_storm
        # The state matrix, in the domain with enough distinct keys (and NaN).
        matrix_domain = STATE_MATRIX_DOMAIN[base]
        # One short program per state, so that each fits the target's max_len.
        for growth in ("none", "doubling"):
            for nan in nan_cases:
                for it in ("none", "before", "during"):
                    for i, op in enumerate(WHOLE_MAP_OPS):
                        name = f"state_{growth}_{'nan_' if nan else ''}{it}_{op}"
                        path = os.path.join(out, f"{name}_d{matrix_domain}.txt")
                        with open(path, "w") as f:
                            f.write(program(target, matrix_domain, state_block(growth, it, nan, op, seed=i + 1), seed=7))
                        written += 1
        for d in domains:
            for name, make in scenarios.items():
                path = os.path.join(out, f"{name}_d{d}.txt")
                with open(path, "w") as f:
                    f.write(program(target, d, make(), seed=d + 1))
                written += 1
        # Same-size growth: one short program per (NaN, iterator, op), so that
        # each fits the target's max_len.
        recipe = SAME_SIZE_RECIPES[base]
        for nan in nan_cases:
            for it in ("none", "before", "during"):
                for op in WHOLE_MAP_OPS:
                    name = f"state_same_size_{'nan_' if nan else ''}{it}_{op}"
                    path = os.path.join(out, f"{name}_d{recipe[0]}.txt")
                    with open(path, "w") as f:
                        f.write(program(target, recipe[0], same_size_block(recipe, it, nan, op), seed=recipe[1]))
                    written += 1
    print(f"wrote {written} seed programs", file=sys.stderr)


if __name__ == "__main__":
    main()
