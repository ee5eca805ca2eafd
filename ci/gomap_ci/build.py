"""Configure and build a CMake preset, printing the build's progress (the
percentage and the targets as they finish) instead of minutes of silence."""
import os
import re
import time

from .common import ROOT, TOOL, Fail, run_group, say

_PERCENT = re.compile(r"^\[\s*(\d+)%\]\s*(.*)")


def run_logged(cmd, log_path, cwd, label, every=10.0, timeout=None, env=None):
    """Runs a build command (common.run_group) with its output to log_path,
    printing the percentage (at most every `every` seconds) and each target
    as it is built, read from the log as it grows; when a compile takes
    longer than `every`, a line says the build is still going. Returns the
    exit status, "timeout" when it ran past timeout seconds (the whole
    process group is then killed), or "cannot run: ..."."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    state = {"printed": 0.0, "pct": -1, "what": "starting", "start": time.time(), "read": 0}

    def follow(_elapsed=None):
        try:
            with open(log_path, "rb") as f:
                f.seek(state["read"])
                chunk = f.read()
        except OSError:
            return
        done_upto = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
        state["read"] += done_upto
        for line in chunk[:done_upto].decode(errors="replace").splitlines():
            m = _PERCENT.match(line)
            if not m:
                continue
            pct, what = int(m.group(1)), m.group(2).strip()
            if what.startswith("Built target") or (pct != state["pct"] and time.time() - state["printed"] >= every):
                say(f"   {label} [{pct:3d}%] {what}")
                state["printed"] = time.time()
            state["pct"], state["what"] = pct, what
        if _elapsed is not None and time.time() - max(state["printed"], state["start"]) >= every:
            say(f"   {label} [{max(state['pct'], 0):3d}%] still building "
                f"({time.time() - state['start']:.0f}s; {state['what']})")
            state["printed"] = time.time()

    status = run_group(cmd, log_path, timeout=timeout, env=env, cwd=cwd, tick=follow, every=1.0).status
    follow()  # the last targets
    return status


def _tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def build(preset, label, log_dir, binary_dir=None, source=ROOT, defines=(), targets=(), jobs=2):
    """cmake --preset PRESET (in source, optionally -B binary_dir) then the
    build; a failure prints the log's tail and raises Fail(TOOL)."""
    bdir = binary_dir or os.path.join(source, "build", preset)
    configure = ["cmake", "--preset", preset] + (["-B", bdir] if binary_dir else []) + [f"-D{d}" for d in defines]
    make = ["cmake", "--build", bdir, "-j", str(jobs)] + (["--target", *targets] if targets else [])
    for step, cmd in (("configure", configure), ("build", make)):
        log_path = os.path.join(log_dir, f"{step}-{os.path.basename(bdir)}.log")
        if run_logged(cmd, log_path, source, label) != 0:
            tail = _tail(log_path)
            if tail:
                print(tail, end="", flush=True)
            raise Fail(TOOL, f"{step} of {label} failed (log: {log_path})")
    return bdir
