"""ci/fuzz.sh: build every libFuzzer target (ASan+UBSan) and fuzz each on its
shipped corpus for a short budget, with a progress line per target every
~10 s, then a table and a next-step line.

New inputs go to OUT/<run>/<target>/corpus, never to corpus/ (only --merge
writes there). Crashes are copied to OUT/crashes/<target>/<run>-<artifact>
atomically (temporary name, fsync, rename) and never overwrite a file.
<run> is the UTC start time, made unique (-2, -3...) when two runs start in
the same second. Reports: OUT/<run>/report.md, report.json,
state_coverage.md.

Exit status (ci/README.md, "Exit codes"): 0 every target fuzzed its whole
budget and nothing crashed; 1 a crash, leak, timeout or sanitizer report
(it wins over a failure elsewhere); 2 bad usage; 3 a target fuzzed less than
asked (0 runs, exited early, hung), the build failed, the disk is full, or
the run was interrupted (a report is still written, saying so).

Environment: GOMAP_FUZZ_ASAN_OPTIONS / GOMAP_FUZZ_UBSAN_OPTIONS replace the
sanitizer options; GOMAP_FUZZ_BIN_DIR uses the targets already built in that
folder instead of building (the tools tests point it at fake fuzzers);
GOMAP_FUZZ_GRACE_SECONDS is how long past its budget a target may run before
it counts as hung and is killed (default 60 + budget/10).
"""
import os
import signal
import subprocess
import sys
import time

from . import build, canary, libfuzzer, state_coverage
from .common import (CLEAN, ENV_ASAN, FINDING, ROOT, TOOL, USAGE, DISK_FULL, Fail, Interrupted, kill_group, main_guard,
                     now, parser, positive_int, quote, raise_on_signals, rel, say, stamp_of, unique_dir,
                     user_path, write_atomic, write_json, writable_dir, bootstrap)

PROG = "ci/fuzz.sh"
DEFAULT_SECONDS = 24  # ten targets, two at a time: about 2 minutes after the build
DEFAULT_JOBS = 2
MAX_SECONDS = 7 * 24 * 3600
PROGRESS_EVERY = 10.0


def parse_args(argv):
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("--seconds", type=positive_int(MAX_SECONDS), default=DEFAULT_SECONDS,
                   help=f"fuzzing time per target (default {DEFAULT_SECONDS})")
    p.add_argument("--target", action="append", default=[], metavar="T",
                   help="only this target (repeatable; default: every target gomap-replay --list-targets names)")
    p.add_argument("--jobs", type=positive_int(256), default=DEFAULT_JOBS,
                   help=f"targets fuzzed at the same time, one core each (default {DEFAULT_JOBS})")
    p.add_argument("--out", type=user_path, default=os.path.join(ROOT, "fuzz-out"),
                   help="where runs go (default fuzz-out/ in the repository; relative to your directory)")
    p.add_argument("--merge", action="store_true",
                   help="afterwards, merge new coverage into the shipped corpus/<target>/ (libFuzzer -merge=1)")
    canary.add_arguments(p, "fuzz an engine built (in build/fuzz-canary-NAME)")
    return p.parse_args(argv)


def grace(seconds):
    env = os.environ.get("GOMAP_FUZZ_GRACE_SECONDS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise Fail(USAGE, f"GOMAP_FUZZ_GRACE_SECONDS='{env}' is not a whole number") from None
    return 60 + seconds // 10


class TargetRun:
    """One target's libFuzzer process, its folder and its verdict."""

    def __init__(self, target, binary, run_dir, run_name, crashes_dir, seconds, env):
        self.t, self.binary, self.seconds, self.env = target, binary, seconds, env
        self.dir = os.path.join(run_dir, target)
        self.corpus = os.path.join(self.dir, "corpus")
        self.artifact_dir = os.path.join(self.dir, "artifacts")
        self.log = os.path.join(self.dir, "fuzz.log")
        self.crashes_dir = os.path.join(crashes_dir, target)
        self.run_name = run_name
        self.proc = None
        self.started = self.ended = None
        self.exit = None
        self.hung = self.interrupted = False
        self.crashes, self.problems = [], []

    def start(self):
        for d in (self.corpus, self.artifact_dir, self.crashes_dir):
            os.makedirs(d, exist_ok=True)
        seeds = os.path.join(libfuzzer.CORPUS, self.t)
        cmd = [self.binary, *libfuzzer.options_flags(self.t), f"-max_total_time={self.seconds}",
               "-print_final_stats=1", f"-artifact_prefix={self.artifact_dir}/", self.corpus]
        if os.path.isdir(seeds):
            cmd.append(seeds)
        self.cmd = cmd
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.dir, env=self.env, start_new_session=True)
        self.started = time.time()

    def running(self):
        return self.proc is not None and self.exit is None

    def poll(self, limit):
        if self.proc is None or self.exit is not None:
            return
        rc = self.proc.poll()
        if rc is None and time.time() - self.started > limit:
            self.hung = True
            kill_group(self.proc)
            rc = self.proc.returncode
        if rc is not None:
            self.exit, self.ended = rc, time.time()

    def stop(self):
        """The run was interrupted: end the fuzzer and everything it started."""
        if self.proc is None:
            self.interrupted = True  # never started
        elif self.running():
            self.interrupted = True
            kill_group(self.proc)
            self.exit, self.ended = self.proc.returncode, time.time()

    def elapsed(self):
        if self.started is None:
            return 0.0
        return round((self.ended or time.time()) - self.started, 1)

    def stats(self):
        return libfuzzer.parse_log_file(self.log)

    def progress(self):
        s = self.stats()
        n = len(libfuzzer.artifacts(self.artifact_dir))
        return (f"   [{self.t}] {self.elapsed():.0f}s: {s['runs']} execs, {s['exec_per_sec']} exec/s, "
                f"cov {s['cov']}, ft {s['ft']}, {n} crash(es)")

    def collect(self):
        """Copies each artifact into the crash folder atomically, never over
        another file; an empty artifact (a write that failed) is a problem,
        not a crash."""
        for name in libfuzzer.artifacts(self.artifact_dir):
            src = os.path.join(self.artifact_dir, name)
            with open(src, "rb") as f:
                data = f.read()
            if not data:
                self.problems.append(f"artifact {name} is empty (was the disk full?)")
                continue
            try:
                dest = write_atomic(os.path.join(self.crashes_dir, f"{self.run_name}-{name}"), data, overwrite=False)
            except OSError as e:
                why = "disk full" if e.errno in DISK_FULL else e.strerror
                self.problems.append(f"cannot save artifact {name}: {why}")
                continue
            self.crashes.append(dest)

    def verdict(self):
        """'finding', 'failed', 'interrupted' or 'clean', and why."""
        if self.interrupted:
            return "interrupted", ("interrupted before it started" if self.proc is None
                                   else "interrupted before its budget ran out")
        if self.problems and not self.crashes:
            return "failed", "; ".join(self.problems)
        return libfuzzer.verdict(self.stats(), self.exit, self.elapsed(), self.seconds, len(self.crashes),
                                 hung=self.hung, log=self.log)

    def row(self):
        s = self.stats()
        status, reason = self.verdict()
        try:
            corpus = len(os.listdir(self.corpus)) + len(os.listdir(os.path.join(libfuzzer.CORPUS, self.t)))
        except OSError:
            corpus = 0
        return {"target": self.t, "status": status, "reason": reason, "runs": s["runs"],
                "exec_per_sec": s["exec_per_sec"], "cov": s["cov"], "ft": s["ft"], "peak_rss_mb": s["peak_rss_mb"],
                "corpus": corpus, "crashes": self.crashes, "exit": self.exit, "seconds": self.elapsed(),
                "log": self.log, "command": quote(self.cmd) if self.proc else None}


def run_targets(runs, jobs, seconds):
    """Runs the targets `jobs` at a time; a progress line per running target
    every PROGRESS_EVERY seconds."""
    limit = seconds + grace(seconds)
    pending, active = list(runs), []
    last = time.time()
    while pending or active:
        while pending and len(active) < jobs:
            r = pending.pop(0)
            say(f"-- [{runs.index(r) + 1}/{len(runs)}] {r.t}: fuzzing for {seconds}s")
            r.start()
            active.append(r)
        time.sleep(0.2)
        for r in list(active):
            r.poll(limit)
            if not r.running():
                active.remove(r)
                r.collect()
                row = r.row()
                say(f"   [{r.t}] done in {row['seconds']:.0f}s: {row['runs']} runs, {row['exec_per_sec']} exec/s, "
                    f"cov {row['cov']}, ft {row['ft']}, peak {row['peak_rss_mb']} MB, {len(row['crashes'])} crash(es)"
                    + (f" -- {row['status'].upper()}: {row['reason']}" if row["status"] != "clean" else ""))
        if time.time() - last >= PROGRESS_EVERY:
            last = time.time()
            for r in active:
                say(r.progress())


def markdown(report):
    lines = [f"# gomap fuzz run {report['run']}", "",
             f"{report['seconds']}s per target, ASan+UBSan+LSan"
             + (f", canary `{report['canary']}`" if report["canary"] else "") + f". Verdict: **{report['verdict']}**"
             + (" (interrupted)" if report["interrupted"] else "") + ".", "",
             "| target | status | runs | exec/s | cov | ft | peak RSS MB | corpus | crashes | seconds |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in report["targets"]:
        lines.append(f"| {r['target']} | {r['status']} | {r['runs']} | {r['exec_per_sec']} | {r['cov']} | {r['ft']} | "
                     f"{r['peak_rss_mb']} | {r['corpus']} | {len(r['crashes'])} | {r['seconds']} |")
    problems = [r for r in report["targets"] if r["status"] in ("failed", "interrupted")]
    if problems:
        lines += ["", "## Did not fuzz as asked", ""]
        lines += [f"- {r['target']}: {r['reason']} (log: `{r['log']}`)" for r in problems]
    if report["replay_commands"]:
        lines += ["", "## Crashes", ""] + [f"- `{c}`" for c in report["replay_commands"]]
    lines += ["", f"Next: {report['next']}"]
    return "\n".join(lines) + "\n"


def print_table(report):
    say()
    say(f"== summary ({report['run_dir']})")
    fmt = "{:<16} {:>10} {:>10} {:>8} {:>6} {:>7} {:>8} {:>7} {:>8} {:>8}"
    say(fmt.format("target", "status", "runs", "exec/s", "cov", "ft", "peak MB", "corpus", "crashes", "seconds"))
    for r in report["targets"]:
        say(fmt.format(r["target"], r["status"], r["runs"], r["exec_per_sec"], r["cov"], r["ft"], r["peak_rss_mb"],
                       r["corpus"], len(r["crashes"]), r["seconds"]))
    for r in report["targets"]:
        if r["status"] in ("failed", "interrupted"):
            say(f"   {r['target']} did not fuzz as asked: {r['reason']} (log: {r['log']})")


def next_step(report, bin_dir):
    replay = os.path.join(bin_dir, "gomap-replay")
    first = next((r for r in report["targets"] if r["crashes"]), None)
    if report["interrupted"]:
        return "the run was interrupted; rerun it (the partial results are in " + report["run_dir"] + ")"
    if first:
        crash = first["crashes"][0]
        t = first["target"]
        return (f"replay a crash: {quote([replay, '--target', t, crash])}; minimize it: "
                f"{quote([os.path.join(bin_dir, t), '-minimize_crash=1', '-runs=10000', '-exact_artifact_path=' + crash + '.min', crash])}; "
                f"keep it as a regression: {quote([replay, '--target', t, '--to-text', '--out', os.path.join(ROOT, 'corpus', 'regressions', t, 'NAME.txt'), crash])}")
    failed = [r for r in report["targets"] if r["status"] == "failed"]
    if failed:
        return f"read {failed[0]['log']}: {failed[0]['target']} did not fuzz as asked"
    return ("nothing found; fuzz longer with " + quote(["ci/fuzz.sh", "--seconds", str(max(300, report["seconds"] * 10))])
            + ", or run the whole matrix with ci/nightly.sh")


def build_targets(a, run_dir):
    """The folder of the fuzz targets: built now (the fuzz preset, or a
    canary's patched tree), or GOMAP_FUZZ_BIN_DIR as it is."""
    prebuilt = os.environ.get("GOMAP_FUZZ_BIN_DIR")
    if prebuilt:
        return os.path.abspath(prebuilt)
    bootstrap(PROG)
    if a.canary:
        src = canary.prepared(a.canary)
        say(f"== building the fuzz preset with canary '{a.canary}' (from {rel(src)}) in build/fuzz-canary-{a.canary}")
        bdir = build.build("fuzz", f"fuzz+{a.canary}", os.path.join(run_dir, "build"),
                           binary_dir=os.path.join(ROOT, "build", f"fuzz-canary-{a.canary}"), source=src)
    else:
        say("== building the fuzz preset (clang-14, libFuzzer, ASan+UBSan) in build/fuzz")
        bdir = build.build("fuzz", "fuzz", os.path.join(run_dir, "build"))
    return os.path.join(bdir, "fuzz")


def choose_targets(a, bin_dir, replay):
    """--target's names, or every target of the job (libfuzzer.job_targets).
    When this run built them, a missing one is a tool failure, not a shorter
    clean run; GOMAP_FUZZ_BIN_DIR's folder is taken as it is."""
    job = libfuzzer.job_targets(replay)
    known = [t for t in job if os.path.exists(os.path.join(bin_dir, t))]
    missing = [t for t in job if t not in known]
    if missing and not a.target and not os.environ.get("GOMAP_FUZZ_BIN_DIR"):
        raise Fail(TOOL, f"the fuzz build made no {' '.join(missing)} in {bin_dir}")
    for t in a.target:
        if t not in known and not os.path.exists(os.path.join(bin_dir, t)):
            raise Fail(USAGE, f"unknown target '{t}' (known: {' '.join(known)})")
    chosen = list(dict.fromkeys(a.target or known))
    if not chosen:  # an empty table would read as a clean run
        raise Fail(TOOL, f"no fuzz target is built in {bin_dir}")
    return chosen


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if canary.listed(a):
        return CLEAN
    if a.canary and a.merge:
        raise Fail(USAGE, "--merge with --canary would merge a buggy engine's corpus")
    # a misspelt target is caught before minutes of building (the registry decides after it)
    sources = libfuzzer.program_targets()
    for t in a.target:
        if t not in sources and not os.environ.get("GOMAP_FUZZ_BIN_DIR"):
            raise Fail(USAGE, f"unknown target '{t}' (known: {' '.join(sources)})")
    writable_dir(a.out, "--out")
    raise_on_signals()
    start = now()
    run_dir, run_name = unique_dir(a.out, stamp_of(start))
    say(f"== run {run_name}: {rel(run_dir)}")

    runs, bin_dir, replay, interrupted = [], None, None, None
    try:
        bin_dir = build_targets(a, run_dir)
        replay = os.path.join(bin_dir, "gomap-replay")
        targets = choose_targets(a, bin_dir, replay)
        env = dict(os.environ)
        # Leaks and every sanitizer error are findings; keep stack collection cheap.
        for name, value in ENV_ASAN.items():
            env[name] = os.environ.get("GOMAP_FUZZ_" + name, value)
        crashes_dir = os.path.join(a.out, "crashes")
        runs = [TargetRun(t, os.path.join(bin_dir, t), run_dir, run_name, crashes_dir, a.seconds, env) for t in targets]
        rounds = -(-len(targets) // a.jobs)
        say(f"== fuzzing {len(targets)} target(s), {a.seconds}s each, {a.jobs} at a time (about {rounds * a.seconds}s); "
            f"a progress line per target every {PROGRESS_EVERY:.0f}s")
        run_targets(runs, a.jobs, a.seconds)
        if a.merge:
            for r in runs:
                merge(r, bin_dir)
    except Interrupted as e:
        interrupted = e
        say(f"== interrupted ({e}): stopping the fuzzers")
        for r in runs:
            r.stop()
            r.collect()
    # The report must be written even if a second signal arrives now.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)

    rows = [r.row() for r in runs]
    replay_cmds = [quote([replay, "--target", row["target"], c]) for row in rows for c in row["crashes"]]
    verdicts = {row["status"] for row in rows}
    if interrupted:
        verdict, code = "INTERRUPTED", TOOL
    elif "finding" in verdicts:
        verdict, code = "FINDING", FINDING
    elif verdicts - {"clean"} or any(getattr(r, "merge_failed", False) for r in runs):
        verdict, code = "FAILED", TOOL
    else:
        verdict, code = "CLEAN", CLEAN
    crashes_dir = os.path.join(a.out, "crashes")
    report = {"run": run_name, "stamp": stamp_of(start), "run_dir": run_dir, "seconds": a.seconds, "jobs": a.jobs,
              "canary": a.canary or "", "interrupted": bool(interrupted), "verdict": verdict, "exit": code,
              "started": start.isoformat(timespec="seconds"), "wall_seconds": round((now() - start).total_seconds(), 1),
              "crash_dir": crashes_dir, "targets": rows, "replay_commands": replay_cmds}
    report["next"] = next_step(report, bin_dir)
    try:
        write_json(os.path.join(run_dir, "report.json"), report)
        write_atomic(os.path.join(run_dir, "report.md"), markdown(report))
    except OSError as e:
        if e.errno in DISK_FULL:
            raise Fail(TOOL, f"disk full: cannot write the report in {run_dir}") from None
        raise
    if not interrupted:
        say()
        say(f"== state coverage (engine states of fuzz/README.md first reached, seconds): {rel(run_dir)}/state_coverage.md")
        try:
            for t, s in state_coverage.write(replay, run_dir, targets).items():
                say(f"   states {t}: {s['reached']} of {s['reachable']} reachable reached")
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            say(f"   (state coverage table not written: {e})")
    print_table(report)
    if replay_cmds:
        say()
        say("== crashes (replay each with the command shown)")
        for c in replay_cmds:
            say(f"   {c}")
    say()
    say(f"{verdict}: reports in {rel(run_dir)}/report.md and report.json")
    say(f"next: {report['next']}")
    return code


def merge(r, bin_dir):
    """libFuzzer -merge=1 of the run's new inputs into the shipped corpus."""
    shipped = os.path.join(libfuzzer.CORPUS, r.t)
    os.makedirs(shipped, exist_ok=True)
    before = len(os.listdir(shipped))
    with open(os.path.join(r.dir, "merge.log"), "w") as log:
        rc = subprocess.run([r.binary, *libfuzzer.options_flags(r.t), "-merge=1", shipped, r.corpus],
                            stdout=log, stderr=subprocess.STDOUT, env=r.env).returncode
    r.merge_failed = rc != 0
    say(f"-- merged {r.t}: corpus/{r.t} {before} -> {len(os.listdir(shipped))} files"
        + (f" (merge exited {rc}: {r.dir}/merge.log)" if rc else ""))


if __name__ == "__main__":
    main_guard(PROG, main)
