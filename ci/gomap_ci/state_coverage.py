"""The state-coverage table: which engine states (fuzz/README.md, "State space")
each fuzz target reached, and how many seconds after its first input.

The fuzz targets print `==gomap== state first reached: NAME at S.SSs` once per
state per process; this reads those lines from each target's fuzz.log. The
state names and which targets have NaN keys come from gomap-replay
(--list-states, --list-targets), so nothing here restates them.

ci/fuzz.sh writes RUN_DIR/state_coverage.{md,json} with write(); the
nightly also replays each target's corpus with
`gomap-replay --states`, so that a state reached but not timed (libFuzzer's
-fork mode keeps the workers' output) still shows as reached ("corpus").
"""
import os
import re
import subprocess

from . import libfuzzer
from .common import write_atomic, write_json

FIRST_REACH = re.compile(r"==gomap== state first reached: (\S+) at ([0-9.]+)s")


def catalogue(replay):
    """The state names and, per target, whether it has NaN keys (a `nan`
    field on its --list-targets line)."""
    def ask(flag):
        return subprocess.run([replay, flag], check=True, capture_output=True, text=True, timeout=60).stdout
    states = ask("--list-states").split()
    nan = {}
    for line in ask("--list-targets").splitlines():
        fields = line.split()
        if fields:
            nan[fields[0]] = "nan" in fields[1:]
    return states, nan


def first_reach(log_path):
    reached = {}
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        return reached
    for name, secs in FIRST_REACH.findall(text):
        reached[name] = min(float(secs), reached.get(name, float("inf")))
    return reached


def replay_states(replay, target, inputs):
    """The states `inputs` (files or directories of target's inputs) reach."""
    inputs = [i for i in inputs if os.path.exists(i)]
    if not inputs:
        return set()
    out = subprocess.run([replay, "--states", "--target", target] + inputs, capture_output=True, text=True).stdout
    return {f[2] for f in (l.split("\t") for l in out.splitlines()) if len(f) == 4 and f[0] == "state" and f[3] == "reached"}


def table(states, nan, per_target, replayed=None):
    """Rows: states; columns: targets; cells: seconds to first reach, 'miss', or
    'n/a' where the target's keys cannot make the state (NaN states without NaN keys)."""
    targets = list(per_target)
    rows, summary = [], {}
    for t in targets:
        allowed = [s for s in states if nan.get(t) or not s.startswith("nan/")]
        got = set(per_target[t]) | set((replayed or {}).get(t, ()))
        summary[t] = {"reachable": len(allowed), "reached": sum(1 for s in allowed if s in got),
                      "missed": [s for s in allowed if s not in got]}
    for s in states:
        cells = []
        for t in targets:
            if s.startswith("nan/") and not nan.get(t):
                cells.append("n/a")
            elif s in per_target[t]:
                cells.append(f"{per_target[t][s]:.1f}")
            elif replayed and s in replayed.get(t, ()):
                cells.append("corpus")
            else:
                cells.append("miss")
        rows.append((s, cells))
    return targets, rows, summary


def markdown(targets, rows, summary):
    out = ["| state | " + " | ".join(targets) + " |", "| --- |" + " ---: |" * len(targets)]
    out += [f"| {s} | " + " | ".join(c) + " |" for s, c in rows]
    out += ["", "| target | reached | of reachable |", "| --- | ---: | ---: |"]
    out += [f"| {t} | {summary[t]['reached']} | {summary[t]['reachable']} |" for t in targets]
    return "\n".join(out) + "\n"


def write(replay, run_dir, targets):
    """RUN_DIR/state_coverage.md and .json from the targets' fuzz logs;
    returns the per-target summary."""
    states, nan = catalogue(replay)
    on_gomap = libfuzzer.list_targets(replay, engine="gomap")  # the states are gomap::Map's
    targets = [t for t in targets if t in on_gomap]
    per_target = {t: first_reach(os.path.join(run_dir, t, "fuzz.log")) for t in targets}
    targets, rows, summary = table(states, nan, per_target)
    write_atomic(os.path.join(run_dir, "state_coverage.md"), markdown(targets, rows, summary))
    write_json(os.path.join(run_dir, "state_coverage.json"),
               {"states": states, "first_reach_seconds": per_target, "summary": summary})
    return summary
