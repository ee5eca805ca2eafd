"""ci/bench.sh: build the release preset's gomap_bench, run it (JSON
output), and print each workload's ns/op per map, the ratio
std::unordered_map / X measured in the same run, and bytes per entry, with
gomap's acceptance thresholds (WORKLOADS below) next to its ratios.

  ci/bench.sh [--filter REGEX] [--out FILE] [--repetitions N] [--stat S] [-- BENCH_ARGS...]
  ci/bench.sh --table FILE [--stat S]

PASS/FAIL marks are informational: the exit status never depends on
timings. Exit status: 0 the run (or table) is fine; 1 a benchmark reported
an error (a map returned a wrong result); 2 bad usage or an unreadable
--table file; 3 the build or the run failed.
"""
import json
import os
import statistics
import subprocess
import sys

from . import build
from .common import (CLEAN, FINDING, ROOT, TOOL, USAGE, Fail, bootstrap, main_guard, now, parser, positive_int, say,
                     stamp_of, user_path, write_atomic)

PROG = "ci/bench.sh"
TABLE_N = 1_000_000  # the size the table (and its thresholds) is about


def render(path, stat):
    """The table of one gomap_bench JSON file; returns (text, errors)."""
    with open(path) as f:
        doc = json.load(f)
    MAPS = ["gomap", "std", "absl", "boost"]
    # (workload, label, gomap's acceptance threshold: std / gomap >= x)
    WORKLOADS = [
        ("insert_u64", "insert 1M u64", 2.5),
        ("lookup_hit_u64", "lookup hit", 1.7),
        ("lookup_miss_u64", "lookup miss", 3.0),
        ("iterate_u64", "iterate (per entry)", 8.0),
        ("erase_u64", "erase", 5.0),
        ("churn_u64", "churn (per round)", 1.8),
        ("clear_loop_u64", "clear loop (per entry)", 3.0),
        ("insert_str", "string insert", 1.3),
        ("lookup_str", "string lookup", 1.2),
    ]
    BYTES_MAX = 36.0

    runs, errors = {}, []
    for b in doc.get("benchmarks", []):
        if b.get("run_type") != "iteration":
            continue  # aggregates are recomputed below from the repetitions
        parts = b.get("run_name", b["name"]).split("/")
        if len(parts) < 2:
            continue
        key = (parts[0], parts[1])
        if b.get("error_occurred"):
            errors.append("%s: %s" % ("/".join(parts), b.get("error_message", "error")))
            continue
        # <workload>/<map>/<n>: the thresholds are for TABLE_N entries; other
        # sizes of the scale curve are in the JSON, not in this table
        if len(parts) > 2 and parts[2].isdigit() and int(parts[2]) != TABLE_N:
            continue
        runs.setdefault(key, []).append(b)

    def pick(workload, m, counter):
        vals = [r[counter] for r in runs.get((workload, m), []) if counter in r]
        if not vals:
            return None
        return {"median": statistics.median, "min": min, "mean": statistics.fmean}[stat](vals)

    def fmt(x, spec="%.1f"):
        return "-" if x is None else spec % x

    def ratio(a, b):
        return None if a is None or b is None or b <= 0 else a / b

    reps = max((len(v) for v in runs.values()), default=0)
    ctx = doc.get("context", {})
    lines = []
    lines.append("gomap benchmarks — %s of %d repetition(s), ns/op; ratio = std::unordered_map / X (same run)"
                 % (stat, reps))
    lines.append("run %s on %s CPU(s), load avg %s; json: %s"
                 % (ctx.get("date", "?"), ctx.get("num_cpus", "?"),
                    ", ".join("%.2f" % x for x in ctx.get("load_avg", [])) or "?", path))
    lines.append("")
    hdr = "%-24s %9s %9s %9s %9s   %9s %9s %9s   %8s  %s" % (
        "workload", "gomap", "std", "absl", "boost", "std/gomap", "std/absl", "std/boost", "target", "gomap")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    npass = nfail = 0
    for w, label, target in WORKLOADS:
        ns = {m: pick(w, m, "ns_per_op") for m in MAPS}
        if all(v is None for v in ns.values()):
            continue
        r = {m: ratio(ns["std"], ns[m]) for m in ("gomap", "absl", "boost")}
        if r["gomap"] is None:
            verdict = "-"
        elif r["gomap"] >= target:
            verdict, npass = "PASS", npass + 1
        else:
            verdict, nfail = "FAIL", nfail + 1
        lines.append("%-24s %9s %9s %9s %9s   %9s %9s %9s   %8s  %s" % (
            label, fmt(ns["gomap"]), fmt(ns["std"]), fmt(ns["absl"]), fmt(ns["boost"]),
            fmt(r["gomap"], "%.2fx"), fmt(r["absl"], "%.2fx"), fmt(r["boost"], "%.2fx"),
            ">= %.1fx" % target, verdict))
    bpe = {m: pick("bytes_per_entry", m, "bytes_per_entry") for m in MAPS}
    if any(v is not None for v in bpe.values()):
        g = bpe["gomap"]
        if g is None:
            verdict = "-"
        elif g <= BYTES_MAX:
            verdict, npass = "PASS", npass + 1
        else:
            verdict, nfail = "FAIL", nfail + 1
        lines.append("%-24s %9s %9s %9s %9s   %9s %9s %9s   %8s  %s" % (
            "bytes/entry @1M u64", fmt(g, "%.2f"), fmt(bpe["std"], "%.2f"), fmt(bpe["absl"], "%.2f"),
            fmt(bpe["boost"], "%.2f"), "", "", "", "<= %.0f" % BYTES_MAX, verdict))
    lines.append("")
    lines.append("gomap vs its acceptance thresholds: %d PASS, %d FAIL (informational; speed is never asserted)"
                 % (npass, nfail))
    if errors:
        lines.append("")
        lines.append("ERRORS (wrong results):")
        lines.extend("  " + e for e in errors)
    return "\n".join(lines), errors


def parse_args(argv):
    """The flags; what follows `--` goes to gomap_bench as a.extra."""
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("--filter", metavar="REGEX", help="only benchmarks matching REGEX (--benchmark_filter)")
    p.add_argument("--out", type=user_path, metavar="FILE",
                   help="JSON output (default build/reports/bench-<stamp>.json); the table goes next to it as .txt")
    p.add_argument("--repetitions", type=positive_int(1000), default=5, help="repetitions per benchmark (default 5)")
    p.add_argument("--stat", choices=["median", "min", "mean"], default="median",
                   help="which repetition statistic the table uses (default median)")
    p.add_argument("--table", type=user_path, metavar="FILE", help="print the table of an earlier run's JSON; builds nothing")
    a = p.parse_args(argv)
    a.extra = extra
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    extra = a.extra
    if a.table:
        try:
            text, errors = render(a.table, a.stat)
        except (OSError, ValueError) as e:
            raise Fail(USAGE, f"{a.table}: {e}") from None
        say(text)
        return FINDING if errors else CLEAN
    bootstrap(PROG)
    say("== building the release preset (gomap_bench)")
    bdir = build.build("release", "release", os.path.join(ROOT, "build", "reports", "logs"), targets=["gomap_bench"])
    out = a.out or os.path.join(ROOT, "build", "reports", f"bench-{stamp_of(now())}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [os.path.join(bdir, "bench", "gomap_bench"), f"--benchmark_out={out}", "--benchmark_out_format=json",
           f"--benchmark_repetitions={a.repetitions}"] + ([f"--benchmark_filter={a.filter}"] if a.filter else []) + extra
    say(f"== running gomap_bench ({a.repetitions} repetitions{', filter ' + repr(a.filter) if a.filter else ''}); "
        f"console output below, JSON to {out}")
    if subprocess.run(cmd).returncode != 0:
        raise Fail(TOOL, "gomap_bench failed")
    text, errors = render(out, a.stat)
    say()
    say(text)
    write_atomic(os.path.splitext(out)[0] + ".txt", text + "\n")
    return FINDING if errors else CLEAN


if __name__ == "__main__":
    main_guard(PROG, main)
