"""ci/replay.sh: replay one artifact (crash file, corpus entry or text
regression) across the sanitizer matrix and say which builds flag it:
plain (dev, g++), asan (ASan+UBSan+LSan), and tsan for the concurrent
targets.

Map targets and concurrent_sched (its programs say so, or --target or the
path does) are replayed with gomap-replay, once per build: their replays are
deterministic. The real-thread concurrent_map, whose replays are not, is
replayed with its replay binary, several times per build. Each build's
gomap-replay (or replay binary) is built when missing.

Exit status: 0 no build flags the input; 1 some build flags it; 2 bad usage
or an input that cannot be read; 3 a build failed (and nothing was flagged).
"""
import os
import subprocess
import sys
import tempfile

from . import build, libfuzzer, triage
from .common import (CLEAN, FINDING, ROOT, TOOL, USAGE, Fail, bootstrap, main_guard, parser, positive_int, say,
                     user_path)

PROG = "ci/replay.sh"
SCHEDULED = "concurrent_sched"  # the concurrent target gomap-replay replays (fuzz/README.md)


def parse_args(argv):
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("--target", metavar="T", help="the target (default: from the file's header, text or path)")
    p.add_argument("--runs", type=positive_int(1000), default=3,
                   help="replays per build for a concurrent target (default 3)")
    p.add_argument("file", type=user_path, help="the input (relative to your directory)")
    return p.parse_args(argv)


def concurrent_target(target, path, map_targets, replay):
    """The non-map target this input belongs to, if any: named by --target;
    concurrent_sched if its text or header says so (gomap-replay reads it; its
    regressions live in corpus/regressions/concurrent_map/, so the path alone
    would name the real-thread target); else named by the path
    (.../concurrent_map/..., concurrent_map-...)."""
    others = [t for t in libfuzzer.program_targets() if t not in map_targets]
    if target:
        return target if target in others else None
    try:
        r = subprocess.run([replay, "--to-text", path], capture_output=True, text=True, errors="replace", timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        raise Fail(TOOL, f"cannot read {path} with {replay}: {e}") from None
    if r.returncode == 0 and r.stdout.startswith(f"target {SCHEDULED}\n"):
        return SCHEDULED
    for t in others:
        if t in path:
            return t
    return None


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with open(a.file, "rb"):
            pass
    except OSError as e:
        raise Fail(USAGE, f"{a.file}: {e.strerror}")
    bootstrap(PROG)
    matrix = ["dev", "asan"]
    logs = tempfile.mkdtemp(prefix="gomap-replay-")
    build.build("dev", "dev", logs, targets=["gomap-replay"])
    map_targets = libfuzzer.list_targets(os.path.join(ROOT, "build", "dev", "fuzz", "gomap-replay"))
    conc = concurrent_target(a.target, a.file, map_targets, os.path.join(ROOT, "build", "dev", "fuzz", "gomap-replay"))
    if a.target and not conc and a.target not in map_targets:
        raise Fail(USAGE, f"unknown target '{a.target}' (known: {' '.join(map_targets + [t for t in libfuzzer.program_targets() if t not in map_targets])})")
    if conc:
        matrix.append("tsan")
    flagged = bad_input = broken = False
    for preset in matrix:
        try:
            build.build(preset, preset, logs, targets=["gomap-replay" if conc in (None, SCHEDULED) else conc])
        except Fail as e:
            say(f"[{preset}] could not build: {e}")
            broken = True
            continue
        fuzz_dir = os.path.join(ROOT, "build", preset, "fuzz")
        if conc and conc != SCHEDULED:
            cmd, runs = [os.path.join(fuzz_dir, conc + "_replay"), a.file], a.runs
        else:
            cmd, runs = [os.path.join(fuzz_dir, "gomap-replay"), "--quiet"] + (["--target", a.target] if a.target else []) + [a.file], 1
        for i in range(runs):
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=600)
            out = r.stdout + r.stderr
            if r.returncode == 0:
                continue
            if r.returncode == USAGE:
                line = next((l for l in out.splitlines() if "error:" in l), out.strip()[:200])
                say(f"[{preset}] cannot read the input: {line}")
                bad_input = True
            else:
                why = triage.rule_text(out) or "see the output of: " + " ".join(cmd)
                say(f"[{preset}] FLAGGED (exit {r.returncode}{f', run {i + 1} of {runs}' if runs > 1 else ''}): {why}")
                flagged = True
            break
        else:
            say(f"[{preset}] clean" + (f" ({runs} runs)" if runs > 1 else ""))
    if bad_input:
        return USAGE
    if flagged:
        return FINDING
    return TOOL if broken else CLEAN


if __name__ == "__main__":
    main_guard(PROG, main)
