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

CLEAN, FINDING, USAGE, TOOL = 0, 1, 2, 3
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


def kill_group(proc, grace=5.0):
    """Ends a child started with start_new_session=True and everything it
    started (libFuzzer -fork workers, cmake's make): TERM, then KILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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

