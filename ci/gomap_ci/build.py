"""Configure and build a CMake preset, printing the build's progress (the
percentage and the targets as they finish) instead of minutes of silence."""
import os
import re
import subprocess
import threading
import time

from .common import ROOT, TOOL, Fail, Interrupted, kill_group, say

_PERCENT = re.compile(r"^\[\s*(\d+)%\]\s*(.*)")


def run_logged(cmd, log_path, cwd, label, every=10.0, timeout=None, env=None):
    """Runs a build command with its output to log_path, printing the
    percentage (at most every `every` seconds) and each target as it is
    built. Returns the exit status, or "timeout" when it ran past timeout
    seconds (the whole process group is then killed)."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    timed_out = threading.Event()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", start_new_session=True, env=env)

        def expire():
            timed_out.set()
            kill_group(proc)
        timer = threading.Timer(timeout, expire) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        # A compile can take longer than `every`: a heartbeat thread says the
        # build is still going when nothing else was printed for that long.
        state = {"printed": 0.0, "pct": -1, "what": "starting", "start": time.time()}
        finished = threading.Event()

        def heartbeat():
            while not finished.wait(1.0):
                if time.time() - max(state["printed"], state["start"]) >= every:
                    say(f"   {label} [{max(state['pct'], 0):3d}%] still building "
                        f"({time.time() - state['start']:.0f}s; {state['what']})")
                    state["printed"] = time.time()
        beat = threading.Thread(target=heartbeat, daemon=True)
        beat.start()
        try:
            for line in proc.stdout:
                log.write(line)
                m = _PERCENT.match(line)
                if not m:
                    continue
                pct, what = int(m.group(1)), m.group(2).strip()
                done = what.startswith("Built target")
                if done or (pct != state["pct"] and time.time() - state["printed"] >= every):
                    say(f"   {label} [{pct:3d}%] {what}")
                    state["printed"] = time.time()
                state["pct"], state["what"] = pct, what
            proc.wait()
        except Interrupted:
            kill_group(proc)
            raise
        finally:
            finished.set()
            if timer:
                timer.cancel()
    return "timeout" if timed_out.is_set() else proc.returncode


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
