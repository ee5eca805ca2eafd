#!/usr/bin/env python3
"""The nightly sanitizer job (ci/nightly.sh is its entry point).

Builds the matrix (asan, tsan, fuzz, coverage, and fuzz-tsan when the preset
exists), runs ctest under each, fuzzes every target under ASan+UBSan with
libFuzzer -fork on the available cores, runs the TSan fuzz target and stress
tests, runs the properties with a large budget, triages every finding
(deduplicated by signature, minimized, turned into a text trace and a
candidate regression), measures engine coverage with llvm-cov, and writes
DIR/<stamp>/summary.md, report.json and report.html, whose plots come from
DIR/history.jsonl, which successive nights append to.

Nothing is ever overwritten: each night has its own directory, and adopted
regressions get fresh names. A crashing or hanging step is recorded and the
night goes on. Exit status 1 if anything was found or any step failed.
"""
import argparse
import datetime
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gomap_ci import state_coverage  # noqa: E402  (one definition of the state table)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["map_u64", "map_string", "map_double", "map_bigkey", "map_collide", "map_struct"]
TSAN_TARGETS = ["concurrent_map"]
ENV_ASAN = {
    "ASAN_OPTIONS": "detect_leaks=1:malloc_context_size=8:abort_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
ENV_TSAN = {"TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1"}


def log(msg):
    print(f"[nightly {datetime.datetime.utcnow().strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, out_path=None, timeout=None, env=None, cwd=ROOT, stderr_path=None):
    """Runs a command, never raising: returns (exit status or 'timeout', seconds).
    stdout goes to out_path; stderr too, unless stderr_path separates it."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    start = time.time()
    out = open(out_path, "w") if out_path else subprocess.DEVNULL
    err = open(stderr_path, "w") if stderr_path else subprocess.STDOUT
    try:
        p = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, env=full_env, cwd=cwd)
        status = p.returncode
    except subprocess.TimeoutExpired:
        status = "timeout"
    except OSError as e:
        status = f"cannot run: {e}"
    finally:
        if out_path:
            out.close()
        if stderr_path:
            err.close()
    return status, round(time.time() - start, 1)


def presets():
    with open(os.path.join(ROOT, "CMakePresets.json")) as f:
        return {p["name"] for p in json.load(f)["configurePresets"]}


class Night:
    def __init__(self, args):
        self.args = args
        self.stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
        self.base = os.path.abspath(args.out)
        self.dir = os.path.join(self.base, self.stamp)
        os.makedirs(self.dir, exist_ok=False)
        self.steps = []  # {name, status, seconds, log}
        self.findings = {}  # signature -> finding
        self.fuzz = {}  # target -> stats
        self.coverage = {}
        self.budget_s = args.budget_minutes * 60

    # ---------------------------------------------------------------- steps
    def step(self, name, cmd, timeout=None, env=None):
        log_path = os.path.join(self.dir, "logs", re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log")
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        log(f"{name} ...")
        status, secs = run(cmd, log_path, timeout=timeout, env=env)
        ok = status == 0
        log(f"{name}: {'ok' if ok else 'FAILED (' + str(status) + ')'} in {secs}s")
        self.steps.append({"name": name, "status": "ok" if ok else str(status), "seconds": secs,
                           "log": os.path.relpath(log_path, self.dir)})
        return ok

    def build(self, preset, extra=None):
        ok = self.step(f"configure {preset}", ["cmake", "--preset", preset] + (extra or []), timeout=600)
        return ok and self.step(f"build {preset}", ["cmake", "--build", "--preset", preset, "-j", str(self.args.jobs)],
                                timeout=3600)

    # ------------------------------------------------------------- fuzzing
    def options_flags(self, target):
        flags = []
        path = os.path.join(ROOT, "corpus", target + ".options")
        if os.path.exists(path):
            for line in open(path):
                line = line.strip()
                if not line or line.startswith(("[", "#")) or "=" not in line:
                    continue
                k, v = (s.strip() for s in line.split("=", 1))
                if k == "dict":
                    v = os.path.join(ROOT, "corpus", v)
                flags.append(f"-{k}={v}")
        return flags

    def fuzz_target(self, binary, target, seconds, env, kind):
        work = os.path.join(self.dir, "fuzz", target)
        corpus = os.path.join(work, "corpus")
        artifacts = os.path.join(work, "artifacts")
        os.makedirs(corpus, exist_ok=True)
        os.makedirs(artifacts, exist_ok=True)
        seeds = os.path.join(ROOT, "corpus", target)
        cmd = [binary] + self.options_flags(target) + [
            f"-fork={self.args.jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1",
            f"-max_total_time={seconds}", "-print_final_stats=1", f"-artifact_prefix={artifacts}/", corpus]
        if os.path.isdir(seeds):
            cmd.append(seeds)
        log_path = os.path.join(work, "fuzz.log")
        log(f"fuzz {target} ({kind}) for {seconds}s on {self.args.jobs} worker(s)")
        status, secs = run(cmd, log_path, timeout=seconds + 300, env=env)
        text = open(log_path, errors="replace").read()
        # "exec/s: N" in plain mode, "exec/s N" in -fork mode's status lines
        execs = [int(x) for x in re.findall(r"exec/s:? (\d+)", text)]
        cov = re.findall(r"cov: (\d+)", text)
        ft = re.findall(r"ft: (\d+)", text)
        runs = re.findall(r"#(\d+)", text)
        stats = {
            "kind": kind,
            "seconds": secs,
            "exit": status,
            "exec_per_sec": execs[-1] if execs else 0,
            "cov": int(cov[-1]) if cov else 0,
            "ft": int(ft[-1]) if ft else 0,
            "runs": int(runs[-1]) if runs else 0,
            "corpus": len(os.listdir(corpus)),
            "artifacts": sorted(os.listdir(artifacts)),
        }
        stats["state_first_reach"] = state_coverage.first_reach(log_path)
        self.fuzz[target] = stats
        log(f"fuzz {target}: {stats['runs']} runs, {stats['exec_per_sec']} exec/s, cov {stats['cov']} ft {stats['ft']}, "
            f"{len(stats['artifacts'])} artifact(s)")
        for a in stats["artifacts"]:
            self.triage(binary, target, os.path.join(artifacts, a), env)

    # ------------------------------------------------------------- triage
    def signature(self, text):
        """What makes two findings the same bug: the broken rule or the sanitizer
        error kind, plus the first frames inside the engine or harness."""
        # gomap divergences name a rule family first ("rule: [load-factor] ...")
        family = re.search(r"rule:\s+\[([^\]]+)\]", text)
        rule = family or re.search(r"rule:\s+(.*)", text)
        kind = re.search(r"(ERROR: \w+Sanitizer: [\w-]+|runtime error: [^\n]*?(?= at|$)|fatal error: [^\n]+|gomap harness: [^\n(]+)", text)
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
        head = rule.group(1).strip() if rule else (kind.group(1).strip() if kind else "crash")
        # libFuzzer's deadly signal or timeout without more
        if not rule and not kind:
            if "timeout after" in text or "ERROR: libFuzzer: timeout" in text:
                head = "timeout"
            elif "out-of-memory" in text:
                head = "out-of-memory"
        return head + (" @ " + " <- ".join(ours) if ours else "")

    def triage(self, binary, target, artifact, env):
        tdir = os.path.join(self.dir, "triage", target)
        os.makedirs(tdir, exist_ok=True)
        base = os.path.basename(artifact)
        repro_log = os.path.join(tdir, base + ".repro.log")
        run([binary, artifact], repro_log, timeout=120, env=env)
        text = open(repro_log, errors="replace").read()
        sig = self.signature(text)
        key = sig  # one finding per bug, whichever targets hit it
        if key in self.findings:
            f = self.findings[key]
            f["duplicates"].append(artifact)
            if target not in f["found_by"]:
                f["found_by"].append(target)
            log(f"triage {target}/{base}: duplicate of '{sig}'")
            return
        sig_id = hashlib.sha1(key.encode()).hexdigest()[:10]
        minimized = os.path.join(tdir, f"{sig_id}.min")
        run([binary, "-minimize_crash=1", "-runs=20000", "-max_total_time=60", f"-exact_artifact_path={minimized}",
             artifact], os.path.join(tdir, f"{sig_id}.minimize.log"), timeout=180, env=env)
        if not os.path.exists(minimized):
            shutil.copyfile(artifact, minimized)
        replay = self.replay_tool(binary)
        trace = os.path.join(tdir, f"{sig_id}.trace.txt")
        candidate = os.path.join(tdir, f"{sig_id}.regression.txt")
        if replay:
            run([replay, "--target", target, minimized], trace, timeout=120, env=env)
            run([replay, "--target", target, "--to-text", "--out", candidate, minimized], None, timeout=60)
        finding = {
            "target": target,
            "found_by": [target],
            "signature": sig,
            "artifact": artifact,
            "minimized": minimized,
            "minimized_bytes": os.path.getsize(minimized),
            "trace": trace if os.path.exists(trace) else None,
            "candidate_regression": candidate if os.path.exists(candidate) else None,
            "replay": f"{replay or 'gomap-replay'} --target {target} {minimized}",
            "duplicates": [],
        }
        if self.args.adopt and finding["candidate_regression"]:
            dest_dir = os.path.join(ROOT, "corpus", "regressions", target)
            os.makedirs(dest_dir, exist_ok=True)
            dest = os.path.join(dest_dir, f"nightly-{self.stamp}-{sig_id}.txt")
            if not os.path.exists(dest):
                shutil.copyfile(candidate, dest)
                finding["adopted_as"] = os.path.relpath(dest, ROOT)
        self.findings[key] = finding
        log(f"triage {target}/{base}: NEW finding '{sig}' -> {minimized}")

    def replay_tool(self, binary):
        # the replay tool built beside the fuzz target (same sanitizers, same canary)
        p = os.path.join(os.path.dirname(binary), "gomap-replay")
        if os.path.exists(p):
            return p
        for d in ("build/fuzz/fuzz", "build/asan/fuzz", "build/dev/fuzz"):
            p = os.path.join(ROOT, d, "gomap-replay")
            if os.path.exists(p):
                return p
        return None

    # ------------------------------------------------------------ coverage
    def measure_coverage(self):
        build = os.path.join(ROOT, "build", "coverage")
        prof_dir = os.path.join(self.dir, "coverage", "profiles")
        os.makedirs(prof_dir, exist_ok=True)
        env = {"LLVM_PROFILE_FILE": os.path.join(prof_dir, "%m-%p.profraw")}
        binaries = []
        for t in TARGETS:
            b = os.path.join(build, "fuzz", t + "_replay")
            if not os.path.exists(b):
                continue
            binaries.append(b)
            inputs = [os.path.join(ROOT, "corpus", t)]
            work = os.path.join(self.dir, "fuzz", t, "corpus")
            if os.path.isdir(work) and os.listdir(work):
                inputs.append(work)
            self.step(f"coverage replay {t}", [b] + inputs, timeout=900, env=env)
        if not binaries:
            return
        profdata = os.path.join(self.dir, "coverage", "merged.profdata")
        raws = [os.path.join(prof_dir, f) for f in os.listdir(prof_dir)]
        if not raws or not self.step("coverage merge", ["llvm-profdata-14", "merge", "-sparse", "-o", profdata] + raws):
            return
        objs = [binaries[0]] + sum([["-object", b] for b in binaries[1:]], [])
        engine = os.path.join(ROOT, "engine", "include")
        html_dir = os.path.join(self.dir, "coverage", "html")
        self.step("coverage html", ["llvm-cov-14", "show", "-format=html", "-show-branches=count",
                                    f"-instr-profile={profdata}", f"-output-dir={html_dir}"] + objs + [engine])
        export = os.path.join(self.dir, "coverage", "summary.json")
        status, _ = run(["llvm-cov-14", "export", "-summary-only", f"-instr-profile={profdata}"] + objs + [engine], export,
                        stderr_path=export + ".stderr")
        try:
            totals = json.load(open(export))["data"][0]["totals"] if status == 0 else None
        except (ValueError, KeyError, IndexError) as e:
            totals = None
            self.steps.append({"name": "coverage summary", "status": f"unreadable: {e}", "seconds": 0,
                               "log": os.path.relpath(export, self.dir)})
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
    def measure_state_coverage(self):
        """Which engine states (fuzz/README.md, "State space") each target
        reached tonight: seconds to first reach from the fuzz logs, and the
        states tonight's corpus reaches when replayed."""
        replay = self.replay_tool(os.path.join(ROOT, "build", "fuzz", "fuzz", TARGETS[0]))  # the fuzz build's
        if not replay:
            return
        states, nan = state_coverage.catalogue(replay)
        timed = {t: self.fuzz.get(t, {}).get("state_first_reach", {}) for t in TARGETS}
        replayed = {t: state_coverage.replay_states(replay, t, [os.path.join(ROOT, "corpus", t),
                                                                os.path.join(self.dir, "fuzz", t, "corpus")])
                    for t in TARGETS}
        targets, rows, summary = state_coverage.table(states, nan, timed, replayed)
        self.states = {"targets": targets, "rows": rows, "summary": summary}
        for t in targets:
            log(f"states {t}: {summary[t]['reached']} of {summary[t]['reachable']} reachable reached")

    # ---------------------------------------------------------------- main
    def guarded(self, name, fn, *args):
        """Runs one phase; an unexpected error is recorded as a failed step and
        the night goes on to the next phase and the reports."""
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001 - nothing may stop the night
            log(f"{name}: internal error {e!r}")
            self.steps.append({"name": name, "status": f"internal error: {e!r}", "seconds": 0, "log": ""})
            return None

    def go(self):
        a = self.args
        have = presets()
        log(f"night {self.stamp}: budget {a.budget_minutes} min fuzzing, {a.jobs} job(s), output {self.dir}")
        fuzz_share = 0.7 if "fuzz-tsan" in have else 1.0
        asan_fuzz_s = max(10, int(self.budget_s * fuzz_share / len(TARGETS)))
        tsan_fuzz_s = max(10, int(self.budget_s * (1 - fuzz_share)))

        if a.canary:
            # A night against a planted bug: only fuzzing, triage and the reports.
            bdir = os.path.join("build", f"fuzz-canary-{a.canary}")
            if self.step("configure fuzz (canary)", ["cmake", "--preset", "fuzz", "-B", bdir, f"-DGOMAP_CANARY={a.canary}"],
                         timeout=600) and \
               self.step("build fuzz (canary)", ["cmake", "--build", bdir, "-j", str(a.jobs)], timeout=3600):
                for t in TARGETS:
                    b = os.path.join(ROOT, bdir, "fuzz", t)
                    if os.path.exists(b):
                        self.fuzz_target(b, t, asan_fuzz_s, ENV_ASAN, f"asan+ubsan, canary {a.canary}")
            self.report()
            return 1 if self.findings or any(s["status"] != "ok" for s in self.steps) else 0

        if self.build("asan"):
            self.step("ctest asan", ["ctest", "--preset", "asan", "-j", str(a.jobs)], timeout=3600)
        if self.build("tsan"):
            self.step("ctest tsan (stress)", ["ctest", "--preset", "tsan", "-j", str(a.jobs)], timeout=3600)
        if self.build("fuzz"):
            for t in TARGETS:
                b = os.path.join(ROOT, "build", "fuzz", "fuzz", t)
                if os.path.exists(b):
                    self.guarded(f"fuzz {t}", self.fuzz_target, b, t, asan_fuzz_s, ENV_ASAN, "asan+ubsan")
        self.guarded("state coverage", self.measure_state_coverage)
        if "fuzz-tsan" in have and self.build("fuzz-tsan"):
            for t in TSAN_TARGETS:
                b = os.path.join(ROOT, "build", "fuzz-tsan", "fuzz", t)
                if os.path.exists(b):
                    self.guarded(f"fuzz {t}", self.fuzz_target, b, t, tsan_fuzz_s, ENV_TSAN, "tsan")
        rc_params = f"max_success={a.props_cases} max_size=300 seed={int(time.time())}"
        if self.build("release", [f"-DGOMAP_PROPS_RC_PARAMS={rc_params}", "-DGOMAP_BUILD_BENCH=OFF"]):
            self.step(f"properties ({rc_params})", ["ctest", "--preset", "release", "-L", "props", "-j", str(a.jobs)],
                      timeout=3600)
        if self.build("coverage"):
            self.step("ctest coverage", ["ctest", "--preset", "coverage", "-j", str(a.jobs)], timeout=3600,
                      env={"LLVM_PROFILE_FILE": os.path.join(self.dir, "coverage", "tests", "%m-%p.profraw")})
            self.guarded("coverage", self.measure_coverage)
        if a.merge:
            for t in TARGETS:
                b = os.path.join(ROOT, "build", "fuzz", "fuzz", t)
                work = os.path.join(self.dir, "fuzz", t, "corpus")
                if os.path.exists(b) and os.path.isdir(work):
                    self.step(f"merge corpus {t}", [b, "-merge=1", os.path.join(ROOT, "corpus", t), work],
                              timeout=900, env=ENV_ASAN)
        self.report()
        failed_steps = [s for s in self.steps if s["status"] != "ok"]
        return 1 if (self.findings or failed_steps) else 0

    # -------------------------------------------------------------- reports
    def report(self):
        history_path = os.path.join(self.base, "history.jsonl")
        entry = {"stamp": self.stamp, "coverage": self.coverage,
                 "targets": {t: {"exec_per_sec": s["exec_per_sec"], "cov": s["cov"], "ft": s["ft"]}
                             for t, s in self.fuzz.items()},
                 "findings": len(self.findings)}
        with open(history_path, "a") as f:
            f.write(json.dumps(entry) + "\n")
        history = [json.loads(l) for l in open(history_path) if l.strip()]
        report = {"stamp": self.stamp, "budget_minutes": self.args.budget_minutes, "jobs": self.args.jobs,
                  "steps": self.steps, "fuzz": self.fuzz, "coverage": self.coverage,
                  "state_coverage": getattr(self, "states", None),
                  "findings": list(self.findings.values()),
                  "ok": not self.findings and all(s["status"] == "ok" for s in self.steps)}
        json.dump(report, open(os.path.join(self.dir, "report.json"), "w"), indent=2)
        open(os.path.join(self.dir, "summary.md"), "w").write(self.markdown(report))
        open(os.path.join(self.dir, "report.html"), "w").write(self.html(report, history))
        log(f"reports: {self.dir}/summary.md, report.json, report.html")
        print(self.markdown(report))

    def markdown(self, r):
        lines = [f"# gomap nightly {r['stamp']}", "",
                 f"**{'CLEAN' if r['ok'] else 'ATTENTION'}**: {len(r['findings'])} finding(s), "
                 f"{sum(1 for s in r['steps'] if s['status'] != 'ok')} failed step(s).", "",
                 "## Fuzzing", "", "| target | sanitizer | runs | exec/s | cov | ft | corpus | artifacts |",
                 "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for t, s in r["fuzz"].items():
            lines.append(f"| {t} | {s['kind']} | {s['runs']} | {s['exec_per_sec']} | {s['cov']} | {s['ft']} | "
                         f"{s['corpus']} | {len(s['artifacts'])} |")
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
        lines += ["", "## Findings", ""]
        if not r["findings"]:
            lines.append("None.")
        for f in r["findings"]:
            lines += [f"- **{f['signature']}** (found by {', '.join(f['found_by'])})",
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

    def html(self, r, history):
        def chart(title, series, unit):
            # series: {name: [(i, value)]}; a plain SVG line chart
            w, h, pad = 520, 220, 40
            points = [v for s in series.values() for _, v in s]
            n = max((len(s) for s in series.values()), default=0)
            if not points or n == 0:
                return f'<div class="chart"><h3>{html.escape(title)}</h3><p>no data yet</p></div>'
            top = max(points) or 1
            colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
            out = [f'<div class="chart"><h3>{html.escape(title)}</h3><svg width="{w}" height="{h}" role="img">',
                   f'<line x1="{pad}" y1="{h-pad}" x2="{w-10}" y2="{h-pad}" stroke="#888"/>',
                   f'<line x1="{pad}" y1="10" x2="{pad}" y2="{h-pad}" stroke="#888"/>',
                   f'<text x="4" y="16" font-size="11">{top:g} {html.escape(unit)}</text>',
                   f'<text x="4" y="{h-pad}" font-size="11">0</text>']
            for k, (name, s) in enumerate(series.items()):
                xs = [pad + (i * (w - pad - 20) / max(1, n - 1)) for i, _ in s]
                ys = [h - pad - (v / top) * (h - pad - 20) for _, v in s]
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
                col = colors[k % len(colors)]
                out.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="{pts}"/>')
                out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{col}"/>' for x, y in zip(xs, ys)]
                out.append(f'<text x="{w-150}" y="{20+14*k}" font-size="11" fill="{col}">{html.escape(name)}</text>')
            out.append("</svg></div>")
            return "\n".join(out)

        targets = sorted({t for e in history for t in e.get("targets", {})})
        exec_series = {t: [(i, e["targets"][t]["exec_per_sec"]) for i, e in enumerate(history) if t in e.get("targets", {})]
                       for t in targets}
        cov_series = {t: [(i, e["targets"][t]["cov"]) for i, e in enumerate(history) if t in e.get("targets", {})]
                      for t in targets}
        eng = {"lines %": [(i, e["coverage"]["line_percent"]) for i, e in enumerate(history) if e.get("coverage")],
               "branches %": [(i, e["coverage"]["branch_percent"]) for i, e in enumerate(history) if e.get("coverage")]}
        status = "CLEAN" if r["ok"] else "ATTENTION"
        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{s['kind']}</td><td>{s['runs']}</td><td>{s['exec_per_sec']}</td>"
            f"<td>{s['cov']}</td><td>{s['ft']}</td><td>{s['corpus']}</td><td>{len(s['artifacts'])}</td></tr>"
            for t, s in r["fuzz"].items())
        finds = "".join(
            f"<li><b>{html.escape(f['signature'])}</b> (found by {html.escape(', '.join(f['found_by']))})<br><code>{html.escape(f['replay'])}</code>"
            f"<br>candidate regression: <code>{html.escape(str(f['candidate_regression']))}</code></li>"
            for f in r["findings"]) or "<li>None.</li>"
        steps = "".join(f"<tr><td>{html.escape(s['name'])}</td><td>{html.escape(s['status'])}</td><td>{s['seconds']}</td></tr>"
                        for s in r["steps"])
        st = r.get("state_coverage")
        if st:
            head = "".join(f"<th>{html.escape(t)}</th>" for t in st["targets"])
            body = "".join(f"<tr><td>{html.escape(name)}</td>" + "".join(
                f'<td style="background:{"#fdd" if c == "miss" else "#eee" if c == "n/a" else "#dfd"}">{html.escape(c)}</td>'
                for c in cells) + "</tr>" for name, cells in st["rows"])
            total = "".join(f"<td>{st['summary'][t]['reached']} / {st['summary'][t]['reachable']}</td>" for t in st["targets"])
            states_html = (f"<p>Seconds to first reach per engine state; <i>corpus</i>: reached by tonight's corpus, "
                           f"not timed; <i>n/a</i>: the target's keys cannot make it.</p><table><tr><th>state</th>{head}</tr>"
                           f"{body}<tr><th>reached</th>{total}</tr></table>")
        else:
            states_html = "<p>not measured</p>"
        cov = r["coverage"]
        cov_line = (f"Lines {cov['line_percent']}%, branches {cov['branch_percent']}% — "
                    f"<a href=\"{html.escape(cov['html'])}\">llvm-cov HTML</a>") if cov else "not measured"
        return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>gomap nightly {r['stamp']}</title>
<style>body{{font-family:sans-serif;margin:24px;max-width:1100px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.status{{font-size:22px;font-weight:bold;color:{'#2ca02c' if r['ok'] else '#d62728'}}} .charts{{display:flex;flex-wrap:wrap;gap:20px}}</style>
</head><body>
<h1>gomap nightly {r['stamp']}</h1>
<p class="status">{status}: {len(r['findings'])} finding(s)</p>
<h2>Fuzzing</h2><table><tr><th>target</th><th>sanitizer</th><th>runs</th><th>exec/s</th><th>cov</th><th>ft</th><th>corpus</th><th>artifacts</th></tr>{rows}</table>
<h2>Engine coverage</h2><p>{cov_line}</p>
<h2>State coverage</h2>{states_html}
<h2>Over time ({len(history)} night(s))</h2><div class="charts">
{chart('exec/s per target', exec_series, 'exec/s')}
{chart('coverage (cov) per target', cov_series, 'edges')}
{chart('engine line and branch coverage', eng, '%')}
</div>
<h2>Findings</h2><ul>{finds}</ul>
<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>seconds</th></tr>{steps}</table>
</body></html>
"""


def main():
    p = argparse.ArgumentParser(description="gomap nightly sanitizer job")
    p.add_argument("--budget-minutes", type=float, default=30, help="total fuzzing time (split across targets)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel build jobs and libFuzzer -fork workers")
    p.add_argument("--out", default=os.path.join(ROOT, "nightly-out"), help="report directory (a subdirectory per night)")
    p.add_argument("--props-cases", type=int, default=2000, help="RapidCheck max_success for the properties")
    p.add_argument("--merge", action="store_true", help="merge new coverage into the shipped corpus (-merge=1)")
    p.add_argument("--adopt", action="store_true", help="copy candidate regressions into corpus/regressions/")
    p.add_argument("--canary", help="fuzz-only night against a planted engine bug (GOMAP_CANARY), to check triage")
    a = p.parse_args()
    if a.budget_minutes <= 0 or a.jobs <= 0:
        print("ci/nightly.sh: --budget-minutes and --jobs must be positive", file=sys.stderr)
        return 2
    return Night(a).go()


if __name__ == "__main__":
    sys.exit(main())
