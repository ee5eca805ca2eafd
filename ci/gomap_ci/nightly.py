"""ci/nightly.sh: the nightly sanitizer job. Builds the matrix (asan, tsan,
fuzz, fuzz-tsan, release, coverage), runs ctest under each, fuzzes every
target under ASan+UBSan with libFuzzer -fork on --jobs workers (crashes,
timeouts and OOMs do not stop it), runs the concurrent targets under TSan,
the properties with a large budget, triages every finding (signature,
-minimize_crash, text trace, candidate regression; --adopt copies it into
corpus/regressions/), measures engine coverage with llvm-cov, runs the
benchmark once (ci/bench.sh into OUT/<stamp>/bench/; its scale curves and
ratio table go into the report, its PASS/FAIL goal marks are informational;
--no-bench leaves it out), and writes
OUT/<stamp>/summary.md, report.json and report.html, whose trend plots come
from OUT/history.jsonl (one line per night; canary nights are kept out of
the clean trend).

Nothing is ever overwritten: each night has its own folder (unique even
when two nights start in the same second), and adopted regressions get
fresh names. A crashing or hanging step is recorded and the night goes on.

Exit status: 0 clean; 1 a finding (crash, leak, sanitizer report, failed
test or property, a benchmark's wrong result); 2 bad usage; 3 a step could
not run (a build failed, a target fuzzed nothing, the benchmark did not run
or left no results, the disk is full) or the night was interrupted
(SIGTERM/SIGINT: the report is still written, saying so).
"""
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from . import replay as replay_module
from . import bench, build, canary, go_oracle, libfuzzer, plots, state_coverage, triage
from .common import (CLEAN, ENV_ASAN, ENV_TSAN, FINDING, ROOT, TOOL, USAGE, Fail, Interrupted, bootstrap, main_guard, now,
                     parser, positive_float, positive_int, quote, raise_on_signals, run_group, stamp_of, unique_dir, user_path,
                     write_atomic, write_json, writable_dir)

PROG = "ci/nightly.sh"
TRACE_LINES = 80  # of a finding's minimized trace, shown in the HTML report
BENCH_SH = os.path.join(ROOT, "ci", "bench.sh")  # the night's benchmark step (the tests swap in a fake)
BENCH_JSON = os.path.join("bench", "bench.json")  # in the night's folder; bench.outputs names its other files
BENCH_TIMEOUT = 3600  # a full ci/bench.sh takes ~6 min plus building gomap_bench and bench/go


def log(msg):
    print(f"[nightly {now().strftime('%H:%M:%S')}] {msg}", flush=True)


def rss_cell(mb):
    """A target's peak RSS as the reports show it; None only when the fuzzer
    never started (its status says why)."""
    return "not started" if mb is None else f"{mb} MB"


def configure_presets():
    with open(os.path.join(ROOT, "CMakePresets.json")) as f:
        return {p["name"] for p in json.load(f)["configurePresets"]}


def commit():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (" (with uncommitted changes)" if dirty else "")


class Night:
    def __init__(self, args):
        self.args = args
        self.start = now()
        self.base = args.out
        self.dir, self.stamp = unique_dir(self.base, stamp_of(self.start))
        self.steps = []  # {name, status, seconds, log}
        self.findings = {}  # signature -> finding
        self.fuzz = {}  # target -> stats
        self.coverage = {}
        self.states = None
        self.bench = None  # bench_record(); None: the step never started (the report says so)
        self.interrupted = None
        self.budget_s = args.budget_minutes * 60

    # ---------------------------------------------------------------- steps
    def step(self, name, cmd, timeout=None, env=None, cwd=ROOT, failure="failed", progress=False):
        """Runs one step, its output to logs/<name>.log; progress=True prints
        a build's progress as it goes. `failure`: the kind of a failed step,
        or a function from the exit status to it."""
        log_path = os.path.join(self.dir, "logs", re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log")
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        log(f"{name} ...")
        if progress:
            start = time.time()
            status = build.run_logged(cmd, log_path, cwd, name, timeout=timeout, env=dict(os.environ, **(env or {})))
            secs = round(time.time() - start, 1)
        else:
            status, secs, _ = run_group(cmd, log_path, timeout=timeout, env=env, cwd=cwd)
        ok = status == 0
        log(f"{name}: {'ok' if ok else 'FAILED (' + str(status) + ')'} in {secs}s")
        self.steps.append({"name": name, "status": "ok" if ok else str(status), "seconds": secs,
                           "log": os.path.relpath(log_path, self.dir),
                           "kind": None if ok else failure(status) if callable(failure) else failure})
        return ok

    def build(self, preset, extra=(), source=ROOT, binary_dir=None):
        label = os.path.basename(binary_dir) if binary_dir else preset
        b = ["-B", binary_dir] if binary_dir else []
        ok = self.step(f"configure {label}", ["cmake", "--preset", preset, *b, *extra], timeout=600, cwd=source,
                       failure="tool")
        bdir = binary_dir or os.path.join(ROOT, "build", preset)
        return ok and self.step(f"build {label}", ["cmake", "--build", bdir, "-j", str(self.args.jobs)],
                                timeout=3600, cwd=source, failure="tool", progress=True)

    def test(self, name, cmd, env=None):
        # a failing test is a finding; ctest's own breakage looks the same
        return self.step(name, cmd, timeout=3600, env=env, failure="finding")

    # ------------------------------------------------------------- fuzzing
    def fuzz_target(self, binary, target, seconds, env, kind):
        work = os.path.join(self.dir, "fuzz", target)
        corpus = os.path.join(work, "corpus")
        artifacts = os.path.join(work, "artifacts")
        os.makedirs(corpus, exist_ok=True)
        os.makedirs(artifacts, exist_ok=True)
        seeds = os.path.join(libfuzzer.CORPUS, target)
        cmd = [binary, *libfuzzer.options_flags(target), f"-fork={self.args.jobs}", "-ignore_crashes=1",
               "-ignore_timeouts=1", "-ignore_ooms=1", f"-max_total_time={seconds}", "-print_final_stats=1",
               f"-artifact_prefix={artifacts}/", corpus] + ([seeds] if os.path.isdir(seeds) else [])
        log_path = os.path.join(work, "fuzz.log")
        log(f"fuzz {target} ({kind}) for {seconds}s on {self.args.jobs} worker(s)")
        def tick(elapsed):
            p = libfuzzer.parse_log_file(log_path)
            log(f"fuzz {target}: {elapsed:.0f}s of {seconds}s, {p['runs']} execs, {p['exec_per_sec']} exec/s, "
                f"cov {p['cov']}, {len(libfuzzer.artifacts(artifacts))} artifact(s) so far")
        status, secs, workers_rss = run_group(cmd, log_path, timeout=seconds + 300, env=env, tick=tick)
        s = libfuzzer.parse_log_file(log_path)
        arts = libfuzzer.artifacts(artifacts)
        stats = {"kind": kind, "seconds": secs, "exit": status, "runs": s["runs"], "exec_per_sec": s["exec_per_sec"],
                 "cov": s["cov"], "ft": s["ft"], "corpus": len(os.listdir(corpus)),
                 # -fork mode's parent log carries no worker RSS: the kernel's peak of
                 # the parent and the workers it waited for (None: it never started)
                 "peak_rss_mb": max(filter(None, (s["peak_rss_mb"], workers_rss)), default=None),
                 "artifacts": arts, "log": os.path.relpath(log_path, self.dir),
                 "state_first_reach": state_coverage.first_reach(log_path)}
        # a target that did not fuzz is never clean: say why (its artifacts are triaged below)
        kind, why = libfuzzer.verdict(s, status, secs, seconds, len(arts), hung=status == "timeout", forked=True)
        stats["status"] = "ok" if kind != "failed" else why
        if stats["status"] != "ok":
            self.steps.append({"name": f"fuzz {target}", "status": stats["status"], "seconds": secs,
                               "log": stats["log"], "kind": "tool"})
        self.fuzz[target] = stats
        log(f"fuzz {target}: {s['runs']} runs, {s['exec_per_sec']} exec/s, cov {s['cov']} ft {s['ft']}, "
            f"peak {rss_cell(stats['peak_rss_mb'])}, {len(arts)} artifact(s); {stats['status']}")
        for a in arts:
            self.triage(binary, target, os.path.join(artifacts, a), env)

    # ------------------------------------------------------------- triage
    @staticmethod
    def signature(text):
        """What makes two findings the same bug: the broken rule's family or the
        sanitizer error kind, plus the first frames inside the engine or harness."""
        frames = re.findall(r"#\d+ 0x[0-9a-f]+ in ([^\n]+?) /", text)

        def plain(frame):
            # drop template arguments and parameters: the same engine function
            # reached from different key types is the same place
            while True:
                shorter = re.sub(r"<[^<>]*>", "", frame)
                if shorter == frame:
                    break
                frame = shorter
            return re.sub(r"\(.*", "", frame).strip()

        ours = [plain(f) for f in frames if "gomap" in f and "LLVMFuzzer" not in f][:3]
        return (triage.family(text) or "crash") + (" @ " + " <- ".join(ours) if ours else "")

    def triage(self, binary, target, artifact, env):
        tdir = os.path.join(self.dir, "triage", target)
        os.makedirs(tdir, exist_ok=True)
        base = os.path.basename(artifact)
        repro_log = os.path.join(tdir, base + ".repro.log")
        run_group([binary, artifact], repro_log, timeout=120, env=env)
        with open(repro_log, errors="replace") as f:
            text = f.read()
        sig = self.signature(text)
        if sig in self.findings:
            f = self.findings[sig]
            f["duplicates"].append(artifact)
            if target not in f["found_by"]:
                f["found_by"].append(target)
            log(f"triage {target}/{base}: duplicate of '{sig}'")
            return
        sig_id = hashlib.sha1(sig.encode()).hexdigest()[:10]
        minimized = os.path.join(tdir, f"{target}-{sig_id}.min")
        minimize_log = os.path.join(tdir, f"{sig_id}.minimize.log")
        run_group([binary, "-minimize_crash=1", "-runs=20000", "-max_total_time=60", f"-exact_artifact_path={minimized}",
             artifact], minimize_log, timeout=180, env=env)
        if not os.path.exists(minimized) or os.path.getsize(minimized) == 0:
            shutil.copyfile(artifact, minimized)
        replay = self.replay_tool(binary)
        trace = os.path.join(tdir, f"{sig_id}.trace.txt")
        candidate = os.path.join(tdir, f"{sig_id}.regression.txt")
        is_map = replay and target in libfuzzer.list_targets(replay)
        if is_map:
            run_group([replay, "--target", target, minimized], trace, timeout=120, env=env)
            run_group([replay, "--target", target, "--to-text", "--out", candidate, minimized], None, timeout=60)
            replay_cmd = quote([replay, "--target", target, minimized])
        else:
            # The target's own binary keeps its sanitizer (a TSan race shows
            # only under TSan); a scheduled program also gets its text form,
            # which gomap-replay writes without running it.
            run_group([binary, minimized], trace, timeout=120, env=env)
            replay_cmd = quote([binary, minimized])
            if replay and target == replay_module.SCHEDULED:
                run_group([replay, "--target", target, "--to-text", "--out", candidate, minimized], None, timeout=60)
        trace_text = None
        if os.path.exists(trace):
            with open(trace, errors="replace") as f:
                lines = f.read().splitlines()
            trace_text = "\n".join(lines[:TRACE_LINES]) + (f"\n... ({len(lines) - TRACE_LINES} more lines)"
                                                          if len(lines) > TRACE_LINES else "")
        links = [(n, os.path.relpath(p, self.dir)) for n, p in
                 (("reproduction log", repro_log), ("minimize log", minimize_log), ("trace", trace),
                  ("minimized input", minimized), ("candidate regression", candidate), ("fuzz log", None))
                 if p and os.path.exists(p)]
        links.append(("fuzz log", self.fuzz.get(target, {}).get("log", "")))
        finding = {"target": target, "found_by": [target], "signature": sig,
                   "rule_text": triage.rule_text(text) or triage.rule_text(trace_text or ""),
                   "artifact": artifact, "minimized": minimized, "minimized_bytes": os.path.getsize(minimized),
                   "trace": trace if os.path.exists(trace) else None, "trace_text": trace_text,
                   "candidate_regression": candidate if os.path.exists(candidate) else None,
                   "replay": replay_cmd, "links": links, "duplicates": []}
        if self.args.adopt and finding["candidate_regression"]:
            dest_dir = os.path.join(ROOT, "corpus", "regressions", target)
            os.makedirs(dest_dir, exist_ok=True)
            dest = os.path.join(dest_dir, f"nightly-{self.stamp}-{sig_id}.txt")
            with open(candidate, "rb") as f:
                finding["adopted_as"] = os.path.relpath(write_atomic(dest, f.read(), overwrite=False), ROOT)
        self.findings[sig] = finding
        log(f"triage {target}/{base}: NEW finding '{sig}' -> {minimized}")

    @staticmethod
    def replay_tool(binary):
        """gomap-replay built beside the fuzz target (same sanitizers, same canary)."""
        p = os.path.join(os.path.dirname(binary), "gomap-replay")
        if os.path.exists(p):
            return p
        p = os.path.join(ROOT, "build", "fuzz", "fuzz", "gomap-replay")
        return p if os.path.exists(p) else None

    # ------------------------------------------------------------ coverage
    def measure_coverage(self, map_targets):
        build = os.path.join(ROOT, "build", "coverage")
        prof_dir = os.path.join(self.dir, "coverage", "profiles")
        os.makedirs(prof_dir, exist_ok=True)
        env = {"LLVM_PROFILE_FILE": os.path.join(prof_dir, "%m-%p.profraw")}
        binaries = []
        for t in map_targets:
            b = os.path.join(build, "fuzz", t + "_replay")
            if not os.path.exists(b):
                continue
            binaries.append(b)
            inputs = [os.path.join(libfuzzer.CORPUS, t)]
            work = os.path.join(self.dir, "fuzz", t, "corpus")
            if os.path.isdir(work) and os.listdir(work):
                inputs.append(work)
            self.step(f"coverage replay {t}", [b] + inputs, timeout=900, env=env, failure="finding")
        if not binaries:
            return
        profdata = os.path.join(self.dir, "coverage", "merged.profdata")
        raws = [os.path.join(prof_dir, f) for f in os.listdir(prof_dir)]
        if not raws or not self.step("coverage merge", ["llvm-profdata-14", "merge", "-sparse", "-o", profdata] + raws,
                                     failure="tool"):
            return
        objs = [binaries[0]] + sum([["-object", b] for b in binaries[1:]], [])
        engine = os.path.join(ROOT, "engine", "include")
        html_dir = os.path.join(self.dir, "coverage", "html")
        self.step("coverage html", ["llvm-cov-14", "show", "-format=html", "-show-branches=count",
                                    f"-instr-profile={profdata}", f"-output-dir={html_dir}"] + objs + [engine],
                  failure="tool")
        export = os.path.join(self.dir, "coverage", "summary.json")
        status, _, _ = run_group(["llvm-cov-14", "export", "-summary-only", f"-instr-profile={profdata}"] + objs + [engine],
                        export, stderr_path=export + ".stderr")
        try:
            with open(export) as f:
                totals = json.load(f)["data"][0]["totals"] if status == 0 else None
        except (OSError, ValueError, KeyError, IndexError) as e:
            totals = None
            self.steps.append({"name": "coverage summary", "status": f"unreadable: {e}", "seconds": 0,
                               "log": os.path.relpath(export, self.dir), "kind": "tool"})
        if totals:
            self.coverage = {
                "line_percent": round(totals["lines"]["percent"], 2),
                "branch_percent": round(totals["branches"]["percent"], 2),
                "lines": f"{totals['lines']['covered']}/{totals['lines']['count']}",
                "branches": f"{totals['branches']['covered']}/{totals['branches']['count']}",
                "html": os.path.relpath(os.path.join(html_dir, "index.html"), self.dir),
            }
            log(f"engine coverage: lines {self.coverage['line_percent']}%, branches {self.coverage['branch_percent']}%")

    # ------------------------------------------------------ state coverage
    def measure_state_coverage(self, replay, map_targets):
        """Which engine states (fuzz/README.md, "State space") each target
        reached tonight: seconds to first reach from the fuzz logs, and the
        states tonight's corpus reaches when replayed."""
        states, nan = state_coverage.catalogue(replay)
        on_gomap = libfuzzer.list_targets(replay, engine="gomap")  # the states are gomap::Map's
        map_targets = [t for t in map_targets if t in on_gomap]
        timed = {t: self.fuzz.get(t, {}).get("state_first_reach", {}) for t in map_targets}
        replayed = {t: state_coverage.replay_states(replay, t, [os.path.join(libfuzzer.CORPUS, t),
                                                                os.path.join(self.dir, "fuzz", t, "corpus")])
                    for t in map_targets}
        targets, rows, summary = state_coverage.table(states, nan, timed, replayed)
        self.states = {"targets": targets, "rows": rows, "summary": summary}
        for t in targets:
            log(f"states {t}: {summary[t]['reached']} of {summary[t]['reachable']} reachable reached")

    # ------------------------------------------------------------- benchmark
    def run_bench(self):
        """ci/bench.sh (it builds gomap_bench and bench/go itself) with its
        JSON, Go's JSON and the table in the night's bench/ folder. Exit 1
        (a wrong result, checksums that differ) is a finding; any other
        failure, or a run that left nothing to show, is a step that could not
        run."""
        out = os.path.join(self.dir, BENCH_JSON)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        self.step("bench (ci/bench.sh)", [BENCH_SH, "--out", out], timeout=BENCH_TIMEOUT,
                  failure=lambda status: "finding" if status == 1 else "tool")
        self.bench = bench_record(self.dir, self.steps[-1])
        if self.bench["problem"] and self.steps[-1]["status"] == "ok":
            self.steps.append({"name": "bench results", "status": self.bench["problem"], "seconds": 0,
                               "log": self.steps[-1]["log"], "kind": "tool"})
        log(f"bench: {bench_headline(self.bench)[1]}")

    # ---------------------------------------------------------------- main
    def guarded(self, name, fn, *args):
        """Runs one phase; an unexpected error is recorded as a failed step and
        the night goes on to the next phase and the reports."""
        try:
            return fn(*args)
        except Interrupted:
            raise
        except Exception as e:  # noqa: BLE001 - nothing may stop the night
            log(f"{name}: internal error {type(e).__name__}: {e}")
            self.steps.append({"name": name, "status": f"internal error: {type(e).__name__}: {e}", "seconds": 0,
                               "log": "", "kind": "tool"})
            return None

    def not_built(self, fuzz_dir, missing):
        """A target the build should have made and did not is a failed step:
        the night must not read as clean having fuzzed less than it should."""
        for t in missing:
            log(f"fuzz {t}: not built in {fuzz_dir}")
            self.steps.append({"name": f"fuzz {t}", "status": f"not built in {fuzz_dir}", "seconds": 0,
                               "log": "", "kind": "tool"})

    def fuzz_build(self, bdir, kind):
        """Fuzzes every target built in bdir/fuzz with the share of the budget."""
        fuzz_dir = os.path.join(bdir, "fuzz")
        replay = os.path.join(fuzz_dir, "gomap-replay")
        map_targets = libfuzzer.list_targets(replay)
        built = [t for t in map_targets if os.path.exists(os.path.join(fuzz_dir, t))]
        if not built:
            raise Fail(TOOL, f"no fuzz target in {fuzz_dir}")
        self.not_built(fuzz_dir, [t for t in map_targets if t not in built])
        share = self.budget_s * self.asan_share / len(built)
        for t in built:
            self.guarded(f"fuzz {t}", self.fuzz_target, os.path.join(fuzz_dir, t), t, max(10, int(share)), ENV_ASAN, kind)
        return replay, map_targets

    def go(self):
        a = self.args
        have = configure_presets()
        log(f"night {self.stamp}: budget {a.budget_minutes:g} min fuzzing, {a.jobs} job(s), output {self.dir}")
        self.asan_share = 0.7 if "fuzz-tsan" in have and not a.canary else 1.0
        try:
            if a.canary:
                self.canary_night()
            else:
                self.full_night(have)
        except Interrupted as e:
            self.interrupted = str(e)
            log(f"interrupted ({e}); writing the report")
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        return self.report()

    def canary_night(self):
        """A night against a planted bug: only fuzzing, triage and the reports."""
        a = self.args
        self.bench = {"ran": False, "status": "not run on a canary night"}
        src = canary.prepared(a.canary)
        bdir = os.path.join(ROOT, "build", f"fuzz-canary-{a.canary}")
        if self.build("fuzz", source=src, binary_dir=bdir):
            self.guarded("fuzz", self.fuzz_build, bdir, f"asan+ubsan, canary {a.canary}")

    def full_night(self, have):
        a = self.args
        if self.build("asan"):
            self.test("ctest asan", ["ctest", "--preset", "asan", "-j", str(a.jobs)])
        if self.build("tsan"):
            self.test("ctest tsan (stress)", ["ctest", "--preset", "tsan", "-j", str(a.jobs)])
        map_targets = []
        if self.build("fuzz"):
            got = self.guarded("fuzz", self.fuzz_build, os.path.join(ROOT, "build", "fuzz"), "asan+ubsan")
            if got:
                replay, map_targets = got
                self.guarded("state coverage", self.measure_state_coverage, replay, map_targets)
                # tonight's new inputs through gomap and the real Go map (ci/go-oracle.sh)
                self.guarded("go oracle", go_oracle.nightly, self, map_targets)
        if "fuzz-tsan" in have and self.build("fuzz-tsan"):
            fuzz_dir = os.path.join(ROOT, "build", "fuzz-tsan", "fuzz")
            # the fuzz-tsan preset builds the concurrent targets (CMake: targets/concurrent_*.cpp)
            wanted = [t for t in libfuzzer.program_targets() if t.startswith("concurrent_")]
            tsan = [t for t in wanted if os.path.exists(os.path.join(fuzz_dir, t))]
            self.not_built(fuzz_dir, [t for t in wanted if t not in tsan])
            for t in tsan:
                self.guarded(f"fuzz {t}", self.fuzz_target, os.path.join(fuzz_dir, t), t,
                             max(10, int(self.budget_s * (1 - self.asan_share) / len(tsan))), ENV_TSAN, "tsan")
        rc_params = f"max_success={a.props_cases} max_size=300 seed={int(time.time())}"
        if self.build("release", [f"-DGOMAP_PROPS_RC_PARAMS={rc_params}", "-DGOMAP_BUILD_BENCH=OFF"]):
            # a large budget: more than the presets' per-test timeout
            self.test(f"properties ({rc_params})", ["ctest", "--preset", "release", "-L", "props", "-j", str(a.jobs),
                                                    "--timeout", "3600"])
        # after the fuzzing, on a quiet machine; bench.sh configures the release
        # preset with gomap_bench and builds only that target
        if a.no_bench:
            self.bench = {"ran": False, "status": "skipped (--no-bench)"}
        else:
            self.guarded("bench", self.run_bench)
        if self.build("coverage"):
            self.test("ctest coverage", ["ctest", "--preset", "coverage", "-j", str(a.jobs), "--timeout", "1800"],
                      env={"LLVM_PROFILE_FILE": os.path.join(self.dir, "coverage", "tests", "%m-%p.profraw")})
            self.guarded("coverage", self.measure_coverage, map_targets)
        if a.merge:
            for t in map_targets:
                b = os.path.join(ROOT, "build", "fuzz", "fuzz", t)
                work = os.path.join(self.dir, "fuzz", t, "corpus")
                if os.path.exists(b) and os.path.isdir(work):
                    self.step(f"merge corpus {t}", [b, "-merge=1", os.path.join(libfuzzer.CORPUS, t), work],
                              timeout=900, env=ENV_ASAN, failure="tool")

    # -------------------------------------------------------------- reports
    def verdict(self):
        failed = [s for s in self.steps if s["status"] != "ok"]
        if self.interrupted:
            return "INTERRUPTED", TOOL
        if self.findings or any(s["kind"] == "finding" for s in failed):
            return "ATTENTION", FINDING
        if failed:
            return "FAILED", TOOL
        return "CLEAN", CLEAN

    def report(self):
        verdict, code = self.verdict()
        wall = round((now() - self.start).total_seconds(), 1)
        r = {"stamp": self.stamp, "started": self.start.isoformat(timespec="seconds"), "wall_seconds": wall,
             "commit": commit(), "host": socket.gethostname(), "canary": self.args.canary or "",
             "budget_minutes": self.args.budget_minutes, "jobs": self.args.jobs, "verdict": verdict, "exit": code,
             "interrupted": self.interrupted, "ok": code == CLEAN, "steps": self.steps,
             "failed_steps": [s for s in self.steps if s["status"] != "ok"], "fuzz": self.fuzz,
             "coverage": self.coverage, "state_coverage": self.states, "findings": list(self.findings.values()),
             "bench": self.bench or {"ran": False, "status": "did not run (the night ended or failed before it)"}}
        history_path = os.path.join(self.base, "history.jsonl")
        entry = {"stamp": self.stamp, "started": r["started"], "commit": r["commit"], "canary": r["canary"],
                 "verdict": verdict, "coverage": self.coverage, "findings": len(self.findings),
                 "targets": {t: {k: s[k] for k in ("exec_per_sec", "cov", "ft", "peak_rss_mb")}
                             for t, s in self.fuzz.items()}}
        with open(history_path, "a") as f:
            f.write(json.dumps(entry) + "\n")
        write_json(os.path.join(self.dir, "report.json"), r)
        md = markdown(r)
        write_atomic(os.path.join(self.dir, "summary.md"), md)
        write_atomic(os.path.join(self.dir, "report.html"), render_html(r, read_history(history_path), self.dir))
        log(f"reports: {self.dir}/summary.md, report.json, report.html")
        print(md, flush=True)
        return code


def read_history(path):
    """The nights in history.jsonl; a damaged line is skipped, not fatal."""
    nights = []
    with open(path) as f:
        for line in f:
            try:
                e = json.loads(line)
                if e.get("started"):
                    e["_when"] = datetime.datetime.fromisoformat(e["started"])
                else:  # nights before "started" was recorded: the stamp, 20261203T074713Z
                    e["_when"] = datetime.datetime.strptime(e["stamp"][:15], "%Y%m%dT%H%M%S").replace(
                        tzinfo=datetime.timezone.utc)
                nights.append(e)
            except (ValueError, KeyError, TypeError):
                continue
    return sorted(nights, key=lambda e: e["_when"])


def trend_charts(history):
    """The plots over the clean-tree nights (canary nights left out)."""
    clean = [e for e in history if not e.get("canary")]
    when = [e["_when"] for e in clean]
    targets = sorted({t for e in clean for t in e.get("targets", {})})

    def per_target(key):
        return {t: [e.get("targets", {}).get(t, {}).get(key) for e in clean] for t in targets}

    cov = {"lines %": [(e.get("coverage") or {}).get("line_percent") for e in clean],
           "branches %": [(e.get("coverage") or {}).get("branch_percent") for e in clean]}
    charts = [plots.chart("exec/s per target", "exec/s", when, per_target("exec_per_sec")),
              plots.chart("coverage (cov) per target", "edges", when, per_target("cov")),
              plots.chart("engine line and branch coverage", "%", when, cov)]
    return charts, len(clean), len(history) - len(clean)


def bench_view(rec, night_dir):
    """The night's benchmark read back from its own files (never another
    night's): (table text, PASS count, FAIL count, scale plots), or a string
    saying why it cannot be shown."""
    paths = {k: os.path.join(night_dir, v) for k, v in rec["files"].items()}
    try:
        r = bench.Results(bench.load(paths["json"], "cannot read"), bench.load(paths["go_json"], "cannot read"),
                          bench.STAT)
        bench.require_measurements(r, TOOL, f"{rec['files']['json']} holds no gomap_bench measurement")
    except Fail as e:
        return str(e)
    text, npass, nfail = bench.tables(r, bench.STAT, f"json: {rec['files']['json']} and {rec['files']['go_json']}")
    return text, npass, nfail, bench.scale_plots(r)


def bench_record(night_dir, step):
    """What report.json keeps of the bench step: its status and files (paths
    relative to the night's folder), the goals' PASS/FAIL counts, and a
    `problem` when it exited 0 or 1 but left nothing readable."""
    files = {k: os.path.relpath(v, night_dir) for k, v in bench.outputs(os.path.join(night_dir, BENCH_JSON)).items()}
    rec = {"ran": True, "status": step["status"], "kind": step["kind"], "log": step["log"], "files": files,
           "pass": None, "fail": None, "problem": None}
    if step["status"] == "ok" or step["kind"] == "finding":  # exit 1 still measured (and says what went wrong)
        view = bench_view(rec, night_dir)
        if isinstance(view, str):
            rec["problem"] = view
        else:
            rec["pass"], rec["fail"] = view[1], view[2]
    return rec


def bench_headline(rec):
    """(measured, one line) for the reports; measured is False whenever no
    measurement of this night can be shown."""
    if not rec:
        return False, "not recorded (a report from before the nightly ran the benchmark)"
    if not rec["ran"]:
        return False, f"not measured tonight: {rec['status']}"
    if rec["problem"]:
        return False, f"FAILED: ci/bench.sh left no results to show ({rec['problem']}); log {rec['log']}"
    goals = f"gomap against its goals: {rec['pass']} PASS, {rec['fail']} FAIL (informational)"
    if rec["kind"] == "finding":
        return True, f"FAILED: a benchmark reported a wrong result or the maps' checksums differ (exit 1); {goals}"
    if rec["status"] != "ok":
        return False, f"FAILED: ci/bench.sh did not run to the end ({rec['status']}); no measurement is shown; log {rec['log']}"
    return True, goals


def bench_section(rec, night_dir):
    """The report.html benchmark section: the plots and table only when this
    night measured them and its files are still there."""
    measured, headline = bench_headline(rec)
    view = bench_view(rec, night_dir) if measured and night_dir else None
    if isinstance(view, str):
        measured, headline = False, f"{headline}; but its results cannot be read now: {view}"
    elif measured and view is None:
        measured, headline = False, f"{headline}; the night's folder is unknown, so no plot is drawn"
    ok = measured and rec["status"] == "ok"
    links = list((rec or {}).get("files", {}).values()) + ([rec["log"]] if rec and rec.get("log") else [])
    return {"ok": ok, "headline": headline, "text": view[0] if measured else None,
            "plots": view[3] if measured else [],
            "files": [f for f in links if night_dir and os.path.exists(os.path.join(night_dir, f))]}


def render_html(r, history, night_dir=None):
    """report.html; night_dir (the folder of report.json) is where the
    benchmark's JSON is read back for its table and scale plots."""
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(__file__), "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["rss"] = rss_cell
    charts, n_clean, n_canary = trend_charts(history)
    return env.get_template("report.html.j2").render(r=r, charts=charts, trend_nights=n_clean, canary_nights=n_canary,
                                                     bench=bench_section(r.get("bench"), night_dir))


def markdown(r):
    lines = [f"# gomap nightly {r['stamp']}" + (f" (canary {r['canary']})" if r["canary"] else ""), "",
             f"commit {r['commit']}, started {r['started']}, {r['wall_seconds'] / 60:.0f} min, host {r['host']}", "",
             f"**{r['verdict']}**: {len(r['findings'])} finding(s), {len(r['failed_steps'])} failed step(s)"
             + (f", interrupted ({r['interrupted']})" if r["interrupted"] else "") + ".", "",
             "## Fuzzing", "", "| target | sanitizer | status | runs | exec/s | cov | ft | peak RSS | corpus | artifacts |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t, s in r["fuzz"].items():
        lines.append(f"| {t} | {s['kind']} | {s['status']} | {s['runs']} | {s['exec_per_sec']} | {s['cov']} | {s['ft']} | "
                     f"{rss_cell(s['peak_rss_mb'])} | {s['corpus']} | {len(s['artifacts'])} |")
    c = r["coverage"]
    lines += ["", "## Engine coverage", "",
              (f"Lines {c['line_percent']}% ({c['lines']}), branches {c['branch_percent']}% ({c['branches']}); "
               f"HTML: `{c['html']}`") if c else "not measured", "", "## State coverage", ""]
    st = r.get("state_coverage")
    if st:
        lines += ["Seconds to first reach per engine state (fuzz/README.md, \"State space\"); `corpus`: reached "
                  "by tonight's corpus, not timed; `n/a`: the target's keys cannot make it.", "",
                  state_coverage.markdown(st["targets"], st["rows"], st["summary"])]
    else:
        lines.append("not measured")
    measured, headline = bench_headline(r.get("bench"))
    lines += ["", "## Benchmark", "", headline + "."]
    if measured:
        files = r["bench"]["files"]
        lines.append(f"Table `{files['txt']}`, JSON `{files['json']}` and `{files['go_json']}`; the scale curves "
                     "(ns/op against entries, one line per map) are in report.html.")
    lines += ["", "## Findings", ""]
    if not r["findings"]:
        lines.append("None.")
    for f in r["findings"]:
        lines += [f"- **{f['signature']}** (found by {', '.join(f['found_by'])})",
                  f"  - rule: {f['rule_text'] or '(sanitizer or runtime report)'}",
                  f"  - minimized ({f['minimized_bytes']} bytes): `{f['minimized']}`",
                  f"  - replay: `{f['replay']}`",
                  f"  - trace: `{f['trace']}`",
                  f"  - candidate regression: `{f['candidate_regression']}`" +
                  (f" (adopted as `{f['adopted_as']}`)" if f.get("adopted_as") else ""),
                  f"  - duplicates: {len(f['duplicates'])}"]
    lines += ["", "## Steps", "", "| step | status | seconds | log |", "| --- | --- | ---: | --- |"]
    for s in r["steps"]:
        lines.append(f"| {s['name']} | {s['status']} | {s['seconds']} | `{s['log']}` |")
    return "\n".join(lines) + "\n"


def parse_args(argv):
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("--budget-minutes", type=positive_float(7 * 24 * 60), default=30.0,
                   help="total fuzzing time in minutes, split across the targets (default 30)")
    p.add_argument("--jobs", type=positive_int(256), default=os.cpu_count() or 2,
                   help="build jobs and libFuzzer -fork workers (default: cores)")
    p.add_argument("--out", type=user_path, default=os.path.join(ROOT, "nightly-out"),
                   help="reports go to OUT/<stamp>/ (default nightly-out/ in the repository; relative to your directory)")
    p.add_argument("--props-cases", type=positive_int(10 ** 9), default=2000, help="RapidCheck max_success (default 2000)")
    p.add_argument("--merge", action="store_true", help="merge new coverage into the shipped corpus (-merge=1)")
    p.add_argument("--adopt", action="store_true", help="copy candidate regressions into corpus/regressions/")
    p.add_argument("--no-bench", action="store_true",
                   help="do not run the benchmark (ci/bench.sh: about 6 min plus its build) or draw its scale curves")
    canary.add_arguments(p, "a fuzz-only night, to see triage work end to end,")
    p.add_argument("--render", metavar="REPORT_JSON", type=user_path,
                   help="only re-render report.html next to an earlier night's report.json (with OUT/history.jsonl)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if canary.listed(a):
        return CLEAN
    if a.render:
        try:
            with open(a.render) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            raise Fail(USAGE, f"{a.render}: {e}") from None
        night_dir = os.path.dirname(a.render)
        history = read_history(os.path.join(os.path.dirname(night_dir), "history.jsonl"))
        out = write_atomic(os.path.join(night_dir, "report.html"), render_html(r, history, night_dir))
        print(out)
        return CLEAN
    writable_dir(a.out, "--out")
    raise_on_signals()
    bootstrap(PROG)
    return Night(a).go()


if __name__ == "__main__":
    main_guard(PROG, main)
