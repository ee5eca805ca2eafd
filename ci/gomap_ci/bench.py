"""ci/bench.sh: build the release preset's gomap_bench and bench/go's
gomap-go-bench, run both on the same workloads (the data scheme of
bench/go/README.md, so each workload's checksum must agree between C++ and
Go), and print, at 1M and at 8M entries, each workload's ns/op per map, the
ratio of every other map to gomap (X / gomap > 1: gomap is faster), and bytes
per entry; the whole scale curve (1k..8M) is drawn as ns/op against size.

  ci/bench.sh [--filter REGEX] [--out FILE] [--repetitions N] [--stat S] [--no-go] [-- BENCH_ARGS...]
  ci/bench.sh --table FILE [--go-table FILE] [--stat S]

Outputs: FILE (gomap_bench's JSON, default build/reports/bench-<stamp>.json),
FILE with -go.json (Go's JSON), .txt (the table), .html (the table and the
scale-curve plots). PASS/FAIL marks against gomap's goals (GOALS below) are
informational: the exit status never depends on timings. Exit status: 0 the
run (or table) is fine; 1 a benchmark reported an error or a checksum
differs between the maps (they did not run the same work); 2 bad usage or an
unreadable --table file; 3 a build or a run failed.
"""
import json
import math
import os
import re
import statistics
import subprocess
import sys

from . import build
from .common import (CLEAN, FINDING, ROOT, TOOL, USAGE, Fail, bootstrap, main_guard, now, parser, positive_int, say,
                     stamp_of, user_path, write_atomic)

PROG = "ci/bench.sh"
MAPS = ["gomap", "std", "absl", "boost", "go"]
STAT = "median"  # the repetition statistic of the tables unless --stat says otherwise
TABLE_SIZES = [1_000_000, 8_000_000]  # the sizes the tables (and the goals) are about
WORKLOADS = [  # (name, what one op is)
    ("insert_u64", "insert"), ("lookup_hit_u64", "lookup"), ("lookup_miss_u64", "lookup"),
    ("iterate_u64", "entry"), ("erase_u64", "erase"), ("churn_u64", "round"), ("clear_loop_u64", "inserted entry"),
    ("insert_str", "insert"), ("lookup_str", "lookup"),
]
# gomap's goals: faster than Go's own map by this factor on every workload at
# every table size; within this factor of boost on these workloads at 1M; and
# no more bytes per entry than Go's map at 1M.
GOAL_VS_GO = 1.5
GOAL_VS_BOOST = 1.5
BOOST_WORKLOADS = ("insert_u64", "lookup_hit_u64", "lookup_miss_u64")
GO_BENCH_DIR = os.path.join(ROOT, "bench", "go")
GO = "/usr/lib/go-1.19/bin/go"


class Results:
    """ns/op, bytes per entry and checksums by (workload, map, n), from one
    gomap_bench JSON file and, optionally, one gomap-go-bench JSON file."""

    def __init__(self, cpp_doc, go_doc, stat):
        self.samples, self.bytes, self.checksums, self.errors = {}, {}, {}, []
        self.context = cpp_doc.get("context", {})
        for b in cpp_doc.get("benchmarks", []):
            if b.get("run_type") != "iteration":
                continue  # aggregates are recomputed from the repetitions
            parts = b.get("run_name", b["name"]).split("/")
            if len(parts) < 3 or not parts[2].isdigit():
                continue
            key = (parts[0], parts[1], int(parts[2]))
            if b.get("error_occurred"):
                self.errors.append("%s: %s" % ("/".join(parts[:3]), b.get("error_message", "error")))
                continue
            m = re.search(r"checksum=(\d+)", b.get("label", ""))
            if m:
                self.checksums[key] = int(m.group(1))
            if "bytes_per_entry" in b:
                self.bytes[key] = b["bytes_per_entry"]
            elif "ns_per_op" in b:
                self.samples.setdefault(key, []).append(b["ns_per_op"])
        pick = {"median": statistics.median, "min": min, "mean": statistics.fmean}[stat]
        self.ns = {k: pick(v) for k, v in self.samples.items()}
        go_field = {"median": "ns_per_op", "min": "ns_per_op_min", "mean": "ns_per_op_mean"}[stat]
        for w, by_size in (go_doc or {}).get("workloads", {}).items():
            for n, cell in by_size.items():
                key = (w, "go", int(n))
                if "checksum" in cell:
                    self.checksums[key] = int(cell["checksum"])
                if w == "bytes_per_entry":
                    self.bytes[("bytes_per_entry", "go", int(n))] = cell["bytes_per_entry"]
                elif go_field in cell:
                    self.ns[key] = cell[go_field]
        self.reps = max((len(v) for v in self.samples.values()), default=0)
        self._check_checksums()

    def _check_checksums(self):
        by_work = {}
        for (w, m, n), c in self.checksums.items():
            by_work.setdefault((w, n), {})[m] = c
        for (w, n), per_map in sorted(by_work.items()):
            if len(set(per_map.values())) > 1:
                self.errors.append(f"{w} at {n}: checksums differ between maps ("
                                   + ", ".join(f"{m} {c}" for m, c in sorted(per_map.items())) + ")")

    def sizes(self, workload):
        return sorted({n for (w, _m, n) in self.ns if w == workload})


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def fmt(x, spec="%.1f"):
    return "-" if x is None else spec % x


def render(r, stat, source):
    """The tables as text."""
    return tables(r, stat, source)[0]


def tables(r, stat, source):
    """The tables as text, and how many of gomap's goals they PASS and FAIL."""
    lines = [f"gomap benchmarks — {stat} of {r.reps} repetition(s), ns/op; X/gomap = how many times faster gomap is "
             "than X (same run)",
             "run %s on %s CPU(s), load avg %s; %s" % (r.context.get("date", "?"), r.context.get("num_cpus", "?"),
                                                      ", ".join("%.2f" % x for x in r.context.get("load_avg", []))
                                                      or "?", source), ""]
    npass = nfail = 0
    for n in TABLE_SIZES:
        rows = [(w, unit) for w, unit in WORKLOADS if (w, "gomap", n) in r.ns]
        if not rows:
            continue
        hdr = "%-16s %8s %8s %8s %8s %8s   %8s %8s %8s   %s" % (
            f"@{n // 1_000_000}M entries", "gomap", "std", "absl", "boost", "go", "std/gm", "boost/gm", "go/gm",
            "goals")
        lines += [hdr, "-" * len(hdr)]
        for w, _unit in rows:
            ns = {m: r.ns.get((w, m, n)) for m in MAPS}
            rs = {m: ratio(ns[m], ns["gomap"]) for m in ("std", "boost", "go")}
            verdicts = []
            if rs["go"] is not None:
                ok = rs["go"] >= GOAL_VS_GO
                verdicts.append(("PASS" if ok else "FAIL") + f" go>={GOAL_VS_GO}x")
                npass, nfail = npass + ok, nfail + (not ok)
            if w in BOOST_WORKLOADS and n == TABLE_SIZES[0] and rs["boost"] is not None:
                ok = rs["boost"] >= 1 / GOAL_VS_BOOST
                verdicts.append(("PASS" if ok else "FAIL") + f" boost<={GOAL_VS_BOOST}x")
                npass, nfail = npass + ok, nfail + (not ok)
            lines.append("%-16s %8s %8s %8s %8s %8s   %8s %8s %8s   %s" % (
                w, *(fmt(ns[m]) for m in MAPS), *(fmt(rs[m], "%.2fx") for m in ("std", "boost", "go")),
                ", ".join(verdicts)))
        bpe = {m: r.bytes.get(("bytes_per_entry", m, n)) for m in MAPS}
        if any(v is not None for v in bpe.values()):
            verdict = ""
            if n == TABLE_SIZES[0] and bpe["gomap"] is not None and bpe["go"] is not None:
                ok = bpe["gomap"] <= bpe["go"]
                verdict = ("PASS" if ok else "FAIL") + " <= go"
                npass, nfail = npass + ok, nfail + (not ok)
            lines.append("%-16s %8s %8s %8s %8s %8s   %8s %8s %8s   %s" % (
                "bytes/entry", *(fmt(bpe[m], "%.2f") for m in MAPS), "", "", "", verdict))
        lines.append("")
    lines.append(f"gomap against its goals: {npass} PASS, {nfail} FAIL (informational; speed is never asserted)")
    if r.errors:
        lines += ["", "ERRORS (wrong results or different work):"] + ["  " + e for e in r.errors]
    return "\n".join(lines), npass, nfail


def scale_svg(r, workload):
    """ns/op against the number of entries (both log scale), one line per map."""
    sizes = r.sizes(workload)
    series = {m: [(n, r.ns[(workload, m, n)]) for n in sizes if (workload, m, n) in r.ns] for m in MAPS}
    series = {m: pts for m, pts in series.items() if pts}
    if len(sizes) < 2 or not series:
        return None
    W, H, L, R, T, B = 520, 260, 60, 90, 24, 44
    lo, hi = math.log10(sizes[0]), math.log10(sizes[-1])
    # ns/op on a log axis too: the sizes span four decades and one slow map
    # (std at 8M, a noisy 1k run) must not flatten every other line.
    values = [v for pts in series.values() for _n, v in pts if v > 0]
    if not values:
        return None
    vlo = math.floor(math.log10(min(values)))
    vhi = max(math.ceil(math.log10(max(values))), vlo + 1)
    x = lambda n: L + (W - L - R) * (math.log10(n) - lo) / (hi - lo)  # noqa: E731
    y = lambda v: T + (H - T - B) * (1 - (math.log10(max(v, 10 ** vlo)) - vlo) / (vhi - vlo))  # noqa: E731
    colors = {"gomap": "#d62728", "std": "#7f7f7f", "absl": "#2ca02c", "boost": "#1f77b4", "go": "#9467bd"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<text x="{L}" y="14" font-weight="bold">{workload}: ns/op against entries</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>']
    for n in sizes:
        label = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
        out.append(f'<text x="{x(n):.1f}" y="{H - B + 14}" text-anchor="middle">{label}</text>')
    for e in range(vlo, vhi + 1):
        v = 10 ** e
        out.append(f'<text x="{L - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        out.append(f'<line x1="{L}" y1="{y(v):.1f}" x2="{W - R}" y2="{y(v):.1f}" stroke="#eee"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">entries (log scale); ns/op (log scale)</text>')
    for k, (m, pts) in enumerate(series.items()):
        c = colors.get(m, "#000")
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                   + " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in pts) + '"/>')
        out.append(f'<text x="{W - R + 8}" y="{T + 14 * k + 8}" fill="{c}">{m}</text>')
    out.append("</svg>")
    return "\n".join(out)


def scale_plots(r):
    """One scale-curve plot per workload that was measured at two sizes or more."""
    return [s for s in (scale_svg(r, w) for w, _ in WORKLOADS) if s]


def html(r, text):
    import jinja2  # Debian python3-jinja2, installed by ci/bootstrap.sh
    template = jinja2.Environment(autoescape=True).from_string(
        "<!doctype html><html><head><meta charset='utf-8'><title>gomap benchmarks</title></head><body>"
        "<h1>gomap benchmarks</h1><pre>{{ text }}</pre><h2>Scale curves</h2>"
        "{% for svg in plots %}<div>{{ svg|safe }}</div>{% endfor %}</body></html>")
    return template.render(text=text, plots=scale_plots(r))


def outputs(out):
    """The files of one run whose gomap_bench JSON is `out`: the one place
    their names are made (main writes them, the nightly reads them)."""
    base = os.path.splitext(out)[0]
    return {"json": out, "go_json": base + "-go.json", "txt": base + ".txt", "html": base + ".html"}


def require_measurements(r, code, message):
    """gomap_bench exits 0 when its filter matches nothing, and an empty
    table renders as an empty table: neither may pass for a clean run."""
    if not r.ns and not r.bytes and not r.errors:
        raise Fail(code, message)


def load(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Fail(USAGE, f"{what} {path}: {e}") from None


def build_go(out_dir):
    """gomap-go-bench from bench/go, offline (no module is ever fetched)."""
    binary = os.path.join(out_dir, "gomap-go-bench")
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local",
               GOCACHE=os.path.join(ROOT, "build", "gocache"))
    r = subprocess.run([GO, "build", "-o", binary, "."], cwd=GO_BENCH_DIR, env=env)
    if r.returncode != 0:
        raise Fail(TOOL, "building bench/go failed")
    return binary


def parse_args(argv):
    """The flags; what follows `--` goes to gomap_bench as a.extra."""
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("--filter", metavar="REGEX",
                   help="only workloads matching REGEX (gomap_bench --benchmark_filter, gomap-go-bench -filter)")
    p.add_argument("--out", type=user_path, metavar="FILE",
                   help="JSON output (default build/reports/bench-<stamp>.json); -go.json, .txt and .html go next to it")
    p.add_argument("--repetitions", type=positive_int(1000), default=5,
                   help="repetitions per benchmark up to 1M entries (default 5; 8M runs 2)")
    p.add_argument("--stat", choices=["median", "min", "mean"], default=STAT,
                   help=f"which repetition statistic the table uses (default {STAT})")
    p.add_argument("--no-go", action="store_true", help="do not build or run Go's side")
    p.add_argument("--table", type=user_path, metavar="FILE", help="print the table of an earlier run's JSON; builds nothing")
    p.add_argument("--go-table", type=user_path, metavar="FILE", help="with --table: that run's Go JSON")
    a = p.parse_args(argv)
    a.extra = extra
    if a.go_table and not a.table:
        p.error("--go-table goes with --table")
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if a.table:
        r = Results(load(a.table, "cannot read"), load(a.go_table, "cannot read") if a.go_table else None, a.stat)
        require_measurements(r, USAGE, f"{a.table} holds no gomap_bench measurement")
        say(render(r, a.stat, f"json: {a.table}"))
        return FINDING if r.errors else CLEAN
    bootstrap(PROG)
    say("== building the release preset (gomap_bench)")
    bdir = build.build("release", "release", os.path.join(ROOT, "build", "reports", "logs"), targets=["gomap_bench"])
    out = a.out or os.path.join(ROOT, "build", "reports", f"bench-{stamp_of(now())}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    files = outputs(out)
    go_out = None
    if not a.no_go:
        say("== building bench/go (gomap-go-bench, Go 1.19)")
        go_bin = build_go(os.path.join(bdir, "bench"))
        go_out = files["go_json"]
        cmd = [go_bin, "-reps", str(a.repetitions)] + (["-filter", a.filter] if a.filter else [])
        say(f"== running gomap-go-bench; JSON to {go_out}")
        with open(go_out, "w") as f:
            if subprocess.run(cmd, stdout=f).returncode != 0:
                raise Fail(TOOL, "gomap-go-bench failed")
    cmd = [os.path.join(bdir, "bench", "gomap_bench"), f"--benchmark_out={out}", "--benchmark_out_format=json",
           f"--benchmark_repetitions={a.repetitions}"] + ([f"--benchmark_filter={a.filter}"] if a.filter else []) + a.extra
    say(f"== running gomap_bench ({a.repetitions} repetitions{', filter ' + repr(a.filter) if a.filter else ''}); "
        f"console output below, JSON to {out}")
    if subprocess.run(cmd).returncode != 0:
        raise Fail(TOOL, "gomap_bench failed")
    r = Results(load(out, "cannot read"), load(go_out, "cannot read") if go_out else None, a.stat)
    require_measurements(r, TOOL, f"gomap_bench measured nothing (filter {a.filter!r} matches no benchmark?)")
    text = render(r, a.stat, f"json: {out}" + (f" and {go_out}" if go_out else ""))
    say()
    say(text)
    write_atomic(files["txt"], text + "\n")
    write_atomic(files["html"], html(r, text))
    say(f"report: {files['txt']}, {files['html']}")
    return FINDING if r.errors else CLEAN


if __name__ == "__main__":
    main_guard(PROG, main)
