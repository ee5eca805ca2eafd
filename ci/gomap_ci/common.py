"""What every ci/ tool shares: the exit codes, the argument parser, paths, and
safe file writing.

Exit codes (documented once, in ci/README.md "Exit codes"):
  0 clean, 1 a finding (crash, divergence, sanitizer report),
  2 bad usage or bad input, 3 the tool or its environment failed
  (nothing fuzzed, build failed, disk full, killed).
"""
import argparse
import datetime
import errno
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import typing

CLEAN, FINDING, USAGE, TOOL = 0, 1, 2, 3
# The sanitizer settings of every fuzzer, replay and test the tools start:
# leaks and every UBSan error are findings (halt, stack trace); a short
# malloc context keeps fuzzing fast. fuzz.sh lets GOMAP_FUZZ_*_OPTIONS
# replace them.
ENV_ASAN = {"ASAN_OPTIONS": "detect_leaks=1:malloc_context_size=8:abort_on_error=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
ENV_TSAN = {"TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# errno values that mean "the disk (or the file-size limit) is full"
DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class Fail(Exception):
    """A one-line failure with its exit code; main_guard prints it."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with the project's rule for bad usage: one line, exit 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(USAGE)


def parser(prog, description, epilog=None):
    return Parser(prog=prog, description=description, epilog=epilog, allow_abbrev=False,
                  formatter_class=argparse.RawDescriptionHelpFormatter)


def positive_int(limit):
    """An argparse type: an integer in 1..limit (a limit keeps sums and
    timeouts far from any overflow)."""
    def parse(text):
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not 1 <= v <= limit:
            raise argparse.ArgumentTypeError(f"{v} is out of range 1..{limit}")
        return v
    return parse


def positive_float(limit):
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not math.isfinite(v) or not 0 < v <= limit:
            raise argparse.ArgumentTypeError(f"'{text}' is out of range (0, {limit:g}]")
        return v
    return parse


def user_path(text):
    """A path given on the command line, resolved against the caller's working
    directory (the tools never change directory, so this is just abspath)."""
    return os.path.abspath(os.path.expanduser(text))


def rel(path):
    """A path as short as it stays unambiguous: relative to the repository when
    inside it."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def quote(cmd):
    return shlex.join(str(c) for c in cmd)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def stamp_of(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


def unique_dir(parent, stamp):
    """Creates parent/<stamp> or, when another run took it in the same second,
    parent/<stamp>-2, -3, ...: mkdir is atomic, so two runs never share one."""
    os.makedirs(parent, exist_ok=True)
    n = 1
    while True:
        name = stamp if n == 1 else f"{stamp}-{n}"
        path = os.path.join(parent, name)
        try:
            os.mkdir(path)
            return path, name
        except FileExistsError:
            n += 1


def writable_dir(path, what):
    """Creates path (and parents) and proves a file can be written there; bad
    paths are bad usage (2), a full disk is an environment failure (3)."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as e:
        code = TOOL if e.errno in DISK_FULL else USAGE
        raise Fail(code, f"{what} {path}: {e.strerror or e}") from None
    return path


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, data, overwrite=True):
    """Writes data (bytes or str) to path through a temporary file in the same
    folder, fsync and rename, so that readers see the whole file or none.
    With overwrite=False an existing file is kept and a free name
    path.2, path.3, ... is used instead. Returns the path written."""
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 is for secrets, not reports
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            base, n = path, 1
            while True:
                try:
                    os.link(tmp, path)  # fails if taken: never overwrites
                    break
                except FileExistsError:
                    n += 1
                    path = f"{base}.{n}"
            os.unlink(tmp)
        fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_json(path, obj):
    return write_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def say(msg=""):
    print(msg, flush=True)


class Interrupted(Exception):
    """Raised by the signal handler: the run was told to stop."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def raise_on_signals():
    """SIGTERM, SIGINT and SIGHUP become Interrupted, so that the tool can kill
    its children and still write its report."""
    def handler(signum, _frame):
        raise Interrupted(signum)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, handler)


def reap(proc, timeout=None):
    """Waits for a child like Popen.wait, but with wait4, so that it also
    returns the kernel's peak RSS (MB) of the child and of every process
    the child itself waited for: the -fork workers of a libFuzzer parent,
    whose own log never shows their memory. Raises TimeoutExpired."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.01
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, max(1, round(usage.ru_maxrss / 1024))  # ru_maxrss is in KiB on Linux
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, 0.2)


def kill_group(proc, grace=5.0):
    """Ends a child started with start_new_session=True and everything it
    started (libFuzzer -fork workers, cmake's make): TERM, then KILL.
    Returns the peak RSS (MB) as reap() does, None if it had already ended."""
    if proc.poll() is not None:
        return None
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass  # the group is gone; its leader may still wait to be reaped
        try:
            return reap(proc, wait)[1]
        except subprocess.TimeoutExpired:
            continue
    return None


class Ran(typing.NamedTuple):
    status: object  # the exit status, "timeout", or "cannot run: <why>"
    seconds: float
    peak_rss_mb: typing.Optional[int]  # as reap() measures it; None when it never ran


def run_group(cmd, out_path=None, timeout=None, env=None, cwd=ROOT, stderr_path=None, tick=None, every=30.0,
              append=False):
    """Runs a command in its own process group, output to out_path (else
    discarded; stderr too unless stderr_path; append=True adds to an existing
    out_path), never raising for its
    failure. A timeout or an interruption (Interrupted, re-raised) ends the
    whole group. tick(seconds) is called every `every` seconds while it runs
    (progress lines)."""
    full_env = dict(os.environ, **(env or {}))
    start = time.time()
    peak = None
    out = open(out_path, "a" if append else "w") if out_path else subprocess.DEVNULL
    err = open(stderr_path, "w") if stderr_path else subprocess.STDOUT
    try:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=full_env, cwd=cwd,
                                start_new_session=True)
        deadline = start + timeout if timeout else None
        try:
            while True:
                wait = every if tick else None
                if deadline is not None:
                    wait = max(0.0, min(wait or float("inf"), deadline - time.time()))
                try:
                    status, peak = reap(proc, wait)
                    break
                except subprocess.TimeoutExpired:
                    if deadline is not None and time.time() >= deadline:
                        raise
                    tick(time.time() - start)
        except subprocess.TimeoutExpired:
            peak = kill_group(proc)
            status = "timeout"
        except Interrupted:
            kill_group(proc)
            raise
    except OSError as e:
        status = f"cannot run: {e.strerror}"
    finally:
        if out_path:
            out.close()
        if stderr_path:
            err.close()
    return Ran(status, round(time.time() - start, 1), peak)


def bootstrap(prog, *extra):
    """ci/bootstrap.sh: installs missing Debian packages (silent when none)."""
    r = subprocess.run(["bash", os.path.join(ROOT, "ci", "bootstrap.sh"), *extra])
    if r.returncode != 0:
        raise Fail(TOOL, "ci/bootstrap.sh could not install the packages")


def main_guard(prog, fn):
    """Runs a tool's main: a Fail prints its one line; any other error prints
    one line (never a traceback) and is a tool failure."""
    try:
        code = fn()
    except Fail as e:
        print(f"{prog}: error: {e}", file=sys.stderr, flush=True)
        code = e.code
    except Interrupted as e:
        print(f"{prog}: interrupted ({e})", file=sys.stderr, flush=True)
        code = TOOL
    except OSError as e:
        why = "disk full" if e.errno in DISK_FULL else (e.strerror or str(e))
        where = f" ({e.filename})" if e.filename else ""
        print(f"{prog}: error: {why}{where}", file=sys.stderr, flush=True)
        code = TOOL
    except Exception as e:  # noqa: BLE001 - a tool never ends in a traceback
        print(f"{prog}: internal error: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        code = TOOL
    sys.exit(code)

