"""ci/canaries.sh: proves the checks bite, one canary (ci/canaries/*.patch) at a time.

Each canary is applied to a fresh copy of the tree (gomap_ci.canary.prepare,
build/canary-src/<name>), built there, and run through the checks that
should catch it:

  single-thread canaries, by default: the copy's own `ci/fuzz.sh` fuzzes every
      target for --seconds; the target whose crash came first caught it, and
      that crash is replayed twice with the copy's gomap-replay (no ASLR, pid
      masked) to check that it fails with identical output.
  single-thread canaries, with --props: the RapidCheck properties, built under
      ASan+UBSan in the copy, run with max_success=--budget and a fixed seed;
      the failing properties, the smallest shrunk counterexample and the time
      to the first failure are reported.
  concurrent canaries (either mode): the TSan tests (`ctest --preset tsan`,
      label tsan) in a tsan build of the copy, then the fuzz-tsan target
      concurrent_map for --seconds.

Reports: fuzz-out/canaries/report.md and report.json (props-report.md and
props-report.json with --props), one row per canary: which check caught it and
after how many seconds. Logs: fuzz-out/canaries/<name>.*.log.
Exit status: 0 every canary caught, 1 one was not (or did not replay
identically), 2 bad usage (an unknown canary name), 3 a copy could not be
prepared or built.
"""
import datetime
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import time

from . import canary
from .common import (CLEAN, ENV_ASAN, ENV_TSAN, FINDING, TOOL, USAGE, Fail, main_guard, parser, positive_int,
                     raise_on_signals, rel, run_group, say, write_json)

ROOT = canary.ROOT
OUT = ROOT / "fuzz-out" / "canaries"
FAILURE_MARKERS = re.compile(r"FIRST DIVERGENCE|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|gomap harness")
# What the TSan fuzz target prints when it finds something: a TSan report, or
# the linearizability checker's violation.
CONCURRENT_FAILURE = re.compile(r"WARNING: ThreadSanitizer|==gomap== concurrent_map:")
SANITIZER_ERROR = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer): [a-z-]+|runtime error")


class ToolFailure(Exception):
    """The copy could not be prepared or built: nothing was proven either way."""


def run_logged(cmd, cwd, log, env=None, timeout=None):
    """Runs cmd with its output appended to log; returns (exit status, or
    'timeout' or 'cannot run: ...', and seconds)."""
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(map(str, cmd))}   (in {cwd})\n")
    r = run_group(list(map(str, cmd)), str(log), timeout=timeout, env=env, cwd=cwd, append=True)
    if r.status == "timeout":
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"(timed out after {timeout} s)\n")
    return r.status, r.seconds


def build(src, preset, targets, log):
    """Configures and builds `targets` of `preset` in the copy; ToolFailure if that fails."""
    target_args = [arg for t in targets for arg in ("--target", t)]
    for cmd in (["cmake", "--preset", preset], ["cmake", "--build", "--preset", preset, "-j2", *target_args]):
        rc, _ = run_logged(cmd, src, log)
        if rc != 0:
            raise ToolFailure(f"'{' '.join(cmd)}' failed in the copy (exit {rc}; see {rel(str(log))})")


def find_binary(base, name):
    hits = sorted(glob.glob(os.path.join(base, "**", name), recursive=True))
    return next((h for h in hits if os.access(h, os.X_OK) and os.path.isfile(h)), None)


def check_row(check, caught, seconds, detail):
    return {"check": check, "caught": caught, "seconds": seconds, "detail": detail}


# ---- single-thread canaries: fuzzing -------------------------------------
def fuzz_single(name, src, a):
    out = OUT / name
    log = OUT / f"{name}.fuzz.log"
    # A fresh folder: a report or crash left by an earlier sweep must never
    # count for this one.
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["bash", "ci/fuzz.sh", "--seconds", a.seconds, "--jobs", a.jobs, "--out", out]
    rc, _ = run_logged(cmd, src, log)
    reports = glob.glob(str(out / "*" / "report.json"))
    if len(reports) != 1 or rc not in (0, 1):
        raise ToolFailure(f"the copy's ci/fuzz.sh exited {rc} with {len(reports)} report(s) (see {rel(str(log))})")
    with open(reports[-1], encoding="utf-8") as f:
        report = json.load(f)
    if report.get("exit") != rc:
        raise ToolFailure(f"the copy's ci/fuzz.sh exited {rc} but its report says {report.get('exit')}")
    rows = [r for r in report.get("targets", []) if r.get("crashes")]
    if not rows:
        return [check_row("fuzz", False, None, f"no target crashed in {a.seconds} s ({rel(reports[-1])})")], None
    first = min(rows, key=lambda r: float(r.get("seconds") or 0))
    crash = first["crashes"][0]
    replay = find_binary(src / "build" / "fuzz", "gomap-replay")
    same = replays_identically(name, replay, first["target"], crash) if replay else False
    others = sorted(r["target"] for r in rows if r is not first)
    detail = (f"{first['target']} after {first['seconds']} s; replays identically: {'yes' if same else 'NO'} ({crash})"
              + (f"; also crashed: {', '.join(others)}" if others else ""))
    return [check_row(f"fuzz {first['target']}", True, first["seconds"], detail)], same


def replays_identically(name, replay, target, crash):
    """Two replays without ASLR, pid masked: equal text, and a failure in it."""
    texts = []
    for n in (1, 2):
        r = subprocess.run(["setarch", platform.machine(), "-R", replay, "--target", target, crash],
                           capture_output=True, text=True, env=dict(os.environ, **ENV_ASAN))
        text = re.sub(r"==[0-9]+==", "==PID==", r.stdout + r.stderr)
        (OUT / f"{name}.replay{n}").write_text(text, encoding="utf-8")
        texts.append(text)
    return texts[0] == texts[1] and bool(FAILURE_MARKERS.search(texts[0]))


# ---- single-thread canaries: properties -----------------------------------
def props_single(name, src, a):
    log = OUT / f"{name}.props.log"
    # asan: some planted bugs are memory errors that only a sanitizer sees.
    build(src, "asan", ["gomap_props"], OUT / f"{name}.build.log")
    binary = find_binary(src / "build" / "asan", "gomap_props")
    if binary is None:
        raise ToolFailure(f"no gomap_props binary in the copy's build/asan (see {rel(str(OUT / f'{name}.build.log'))})")
    failures = src / "build" / "asan" / "props-failures"
    env = {"GOMAP_PROPS_FAILURES": str(failures), "RC_PARAMS": f"max_success={a.budget} seed=1",
           # no abort: GoogleTest's FAILED lines and the report come out whole
           **ENV_ASAN, "ASAN_OPTIONS": ENV_ASAN["ASAN_OPTIONS"].replace("abort_on_error=1", "abort_on_error=0")}
    rc, secs = run_logged([binary], src, log, env=env)
    text = log.read_text(encoding="utf-8", errors="replace")
    failed = sorted(set(re.findall(r"^\[  FAILED  \] ([A-Za-z]+\.[A-Za-z0-9]+) \(", text, re.M)))
    sanitizer = SANITIZER_ERROR.search(text)
    if sanitizer:  # the sanitizer stopped the process inside the property that was running
        running = re.findall(r"^\[ RUN      \] ([A-Za-z]+\.[A-Za-z0-9]+)", text, re.M)
        failed.append(f"{running[-1] if running else '?'} ({sanitizer.group(0)})")
    times = [int(ms) for ms in re.findall(r"^\[  FAILED  \] \S+ \(([0-9]+) ms\)", text, re.M)]
    sizes = []
    for f in glob.glob(str(failures / "*.txt")):
        with open(f, encoding="utf-8", errors="replace") as fh:
            sizes.append(sum(1 for l in fh if l.strip() and not re.match(r"(#|target|domain|seed|hint|deep)", l)))
    if not failed:
        return [check_row("props", False, secs, f"no property failed with max_success={a.budget} (exit {rc})")], None
    first = min(times) / 1000 if times else secs
    detail = (f"failing: {' '.join(failed)}; smallest counterexample {min(sizes) if sizes else '?'} ops; "
              f"fastest failing property {first} s")
    return [check_row("props", True, first, detail)], None


# ---- concurrent canaries ----------------------------------------------------
def concurrent(name, src, a):
    rows = []
    log = OUT / f"{name}.tsan.log"
    build(src, "tsan", ["gomap_concurrent_tests"], OUT / f"{name}.build.log")
    rc, secs = run_logged(["ctest", "--preset", "tsan", "--output-on-failure"], src, log, env=ENV_TSAN, timeout=1800)
    text = log.read_text(encoding="utf-8", errors="replace")
    failed = []  # ctest's closing list; typed tests' names lose their template arguments
    for n in re.findall(r"^\s*\d+ - (.+) \([^()]*\)\s*$", text.partition("The following tests FAILED:")[2], re.M):
        short = re.sub(r"<.*>", "", n)
        if short not in failed:
            failed.append(short)
    tsan_report = "WARNING: ThreadSanitizer" in text
    how = "ThreadSanitizer" if tsan_report else "test failure"
    if rc != 0 and not failed and not tsan_report:
        # a timeout, or ctest failing on its own: not a test catching the bug
        raise ToolFailure(f"ctest --preset tsan exited {rc} with no failed test (see {rel(str(log))})")
    rows.append(check_row("tsan tests", rc != 0, secs,
                          f"{how}: {', '.join(failed[:4])}{' ...' if len(failed) > 4 else ''}"
                          if rc != 0 else "all passed"))
    # The TSan fuzz target, on a fresh corpus of its own.
    blog = OUT / f"{name}.build.log"
    build(src, "fuzz-tsan", [], blog)
    binary = find_binary(src / "build" / "fuzz-tsan", "concurrent_map")
    if binary is None:
        raise ToolFailure(f"no concurrent_map fuzz target in the copy's build/fuzz-tsan (see {rel(str(blog))})")
    work = OUT / name / "concurrent_map"
    shutil.rmtree(work, ignore_errors=True)  # an earlier sweep's crash must not count
    (work / "corpus").mkdir(parents=True, exist_ok=True)
    (work / "crashes").mkdir(exist_ok=True)
    seeds = src / "corpus" / "concurrent_map"
    cmd = [binary, f"-max_total_time={a.seconds}", f"-artifact_prefix={work / 'crashes'}/", work / "corpus"]
    if seeds.is_dir():
        cmd.append(seeds)
    flog = OUT / f"{name}.fuzz-tsan.log"
    rc, secs = run_logged(cmd, src, flog, env=ENV_TSAN, timeout=a.seconds * 3 + 120)
    crashes = sorted(glob.glob(str(work / "crashes" / "crash-*")))  # not timeouts or OOMs
    ftext = flog.read_text(encoding="utf-8", errors="replace")
    caught = rc != 0 and bool(crashes) and bool(CONCURRENT_FAILURE.search(ftext))
    what = "ThreadSanitizer" if "WARNING: ThreadSanitizer" in ftext else "crash"
    rows.append(check_row("fuzz-tsan concurrent_map", caught, secs,
                          f"{what} after {secs} s ({crashes[0]})" if caught else f"nothing in {a.seconds} s (exit {rc})"))
    return rows, None


def run_one(name, a):
    info = canary.describe(name)
    say(f"== canary {name} ({info['kind']}): {info['breaks']}")
    entry = {"name": name, "kind": info["kind"], "breaks": info["breaks"], "expected": info["caught_by"],
             "caught": False, "found_by": None, "seconds": None, "replays_identically": None,
             "checks": [], "error": None}
    start = time.monotonic()
    try:
        src = canary.prepare(name)
        if info["kind"] == "concurrent":
            rows, same = concurrent(name, src, a)
        elif a.props:
            rows, same = props_single(name, src, a)
        else:
            rows, same = fuzz_single(name, src, a)
    except (ToolFailure, canary.PatchDoesNotApply, RuntimeError) as e:
        entry["error"] = str(e)
        say(f"   ERROR: {e}")
        return entry
    entry["checks"] = rows
    entry["replays_identically"] = same
    hits = [r for r in rows if r["caught"]]
    if hits:
        entry["found_by"] = hits[0]["check"]
        entry["seconds"] = hits[0]["seconds"]
    entry["caught"] = bool(hits) and same is not False
    for r in rows:
        say(f"   {r['check']}: {'CAUGHT' if r['caught'] else 'not caught'} — {r['detail']}")
    say(f"   => {'caught' if entry['caught'] else 'NOT CAUGHT'} ({round(time.monotonic() - start)} s with the build)")
    return entry


def markdown(report):
    lines = [f"# Canary run ({report['date']}), {report['mode']}", "",
             f"{report['caught']} of {report['total']} canaries caught.", "",
             "| canary | kind | caught by | seconds | replays identically | details |",
             "| --- | --- | --- | ---: | --- | --- |"]
    for c in report["canaries"]:
        if c["error"]:
            lines.append(f"| {c['name']} | {c['kind']} | ERROR | - | - | {c['error']} |")
            continue
        same = {None: "n/a", True: "yes", False: "NO"}[c["replays_identically"]]
        details = "; ".join(f"{r['check']}: {r['detail']}" for r in c["checks"]).replace("|", "\\|")
        lines.append(f"| {c['name']} | {c['kind']} | {c['found_by'] or 'NOT CAUGHT'} | "
                     f"{c['seconds'] if c['seconds'] is not None else '-'} | {same} | {details} |")
    return "\n".join(lines) + "\n"


def parse_args(argv):
    p = parser("ci/canaries.sh", __doc__)
    positive = positive_int(24 * 3600)
    p.add_argument("--seconds", type=positive, default=60, help="fuzzing time per target (default 60)")
    p.add_argument("--jobs", type=positive, default=1, help="targets fuzzed at once by ci/fuzz.sh (default 1)")
    p.add_argument("--props", action="store_true", help="single-thread canaries through the properties instead of fuzzing")
    p.add_argument("--budget", type=positive, default=2000, help="with --props: max_success per property (default 2000)")
    p.add_argument("canaries", nargs="*", metavar="CANARY", help="default: all (see --list-canaries)")
    canary.add_arguments(p)
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if canary.listed(a):
        return CLEAN
    chosen = [canary.check(n) for n in a.canaries] or canary.names()
    OUT.mkdir(parents=True, exist_ok=True)
    entries = [run_one(n, a) for n in chosen]
    mode = (f"properties, max_success={a.budget}" if a.props else f"{a.seconds} s per fuzz target, {a.jobs} job(s)")
    report = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), "mode": mode,
              "total": len(entries), "caught": sum(e["caught"] for e in entries), "canaries": entries}
    stem = "props-report" if a.props else "report"
    write_json(str(OUT / f"{stem}.json"), report)
    md = markdown(report)
    (OUT / f"{stem}.md").write_text(md, encoding="utf-8")
    say("")
    say(md)
    say(f"reports: {rel(str(OUT / (stem + '.md')))}, {rel(str(OUT / (stem + '.json')))}")
    if any(e["error"] for e in entries):
        return TOOL
    return CLEAN if report["caught"] == report["total"] else FINDING


def guarded_main(argv=None):
    raise_on_signals()

    def run():
        try:
            return main(argv)
        except ValueError as e:  # a canary patch with a broken header
            raise Fail(USAGE, str(e)) from None
    main_guard("ci/canaries.sh", run)  # exits with run's code


if __name__ == "__main__":
    guarded_main()
