"""ci/go-oracle.sh: run op programs on gomap and on the real Go 1.19 map in
lockstep (gomap-go-lockstep driving gomap-go-oracle over pipes) and say
whether they agree: both pass the oracle and the iteration model, and Go's B
equals gomap's after every op while the two maps are in step.

Arguments are program files or folders (relative to your directory); the
default is the shipped corpus of every target (corpus/<target>/) and
corpus/regressions/. Programs of targets on other engines (std_u64, ...) are
not run. Builds gomap-go-lockstep (dev preset) and the Go oracle (Go 1.19
from /usr/lib/go-1.19, offline: nothing is downloaded) first. Prints each
disagreement with Go's own trace and, last, one line:
  go-oracle: N programs, A agree, D disagree, S skipped ops

Exit status: 0 all agree; 1 a disagreement; 2 bad usage or an unreadable
program; 3 a build failed or the Go oracle could not run.
"""
import os
import subprocess
import sys
import tempfile

from . import build, libfuzzer
from .common import ROOT, TOOL, USAGE, Fail, bootstrap, main_guard, parser, say, user_path

PROG = "ci/go-oracle.sh"
GO = "/usr/lib/go-1.19/bin/go"
ORACLE_SRC = os.path.join(ROOT, "fuzz", "go_oracle")


def go_env(build_dir):
    """Go, offline: no module downloads, no toolchain switch, a cache in the build tree."""
    return dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local",
                GOCACHE=os.path.join(build_dir, "gocache"))


def go_build_cmd(out):
    return [GO, "build", "-o", out, "."]


def lockstep_cmd(build_dir, oracle, inputs):
    return [os.path.join(build_dir, "fuzz", "gomap-go-lockstep"), "--go-oracle", oracle, *inputs]


def default_inputs(replay):
    """The shipped corpus of every registered target, and the regressions."""
    dirs = [os.path.join(libfuzzer.CORPUS, t) for t in libfuzzer.list_targets(replay)]
    return [d for d in dirs if os.path.isdir(d)] + [os.path.join(libfuzzer.CORPUS, "regressions")]


def nightly(night, map_targets):
    """The nightly's step: everything tonight's fuzzing added to the corpora
    of the targets, through gomap and Go. Called by nightly.py after fuzzing."""
    bdir = os.path.join(ROOT, "build", "dev")
    if not (night.step("configure dev (go oracle)", ["cmake", "--preset", "dev"], timeout=600, failure="tool")
            and night.step("build gomap-go-lockstep", ["cmake", "--build", bdir, "-j", str(night.args.jobs),
                                                       "--target", "gomap-go-lockstep"], timeout=3600, failure="tool")):
        return
    oracle = os.path.join(bdir, "fuzz", "gomap-go-oracle")
    if not night.step("build gomap-go-oracle", go_build_cmd(oracle), timeout=600, cwd=ORACLE_SRC,
                      env={k: v for k, v in go_env(bdir).items() if k.startswith("GO")}, failure="tool"):
        return
    inputs = [os.path.join(night.dir, "fuzz", t, "corpus") for t in map_targets]
    inputs = [d for d in inputs if os.path.isdir(d) and os.listdir(d)]
    if not inputs:
        say("go oracle: tonight's fuzzing left no corpus of a gomap target to check")
        return
    # exit 1 is a disagreement (a finding); 2 and 3 are the tool's (bad input, Go failed)
    night.step("go oracle (tonight's corpus)", lockstep_cmd(bdir, oracle, inputs), timeout=3600,
               failure=lambda status: "finding" if status == 1 else "tool")


def parse_args(argv):
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("inputs", nargs="*", type=user_path, metavar="DIR|FILE",
                   help="program files or folders (default: corpus/<target>/ and corpus/regressions/)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    for path in a.inputs:
        if not os.path.exists(path):
            raise Fail(USAGE, f"{path}: no such file or folder")
    bootstrap(PROG)
    if not os.access(GO, os.X_OK):
        raise Fail(TOOL, f"{GO} not found (ci/bootstrap.sh installs golang-1.19-go)")
    logs = tempfile.mkdtemp(prefix="gomap-go-oracle-")
    bdir = build.build("dev", "dev", logs, targets=["gomap-go-lockstep", "gomap-replay"])
    oracle = os.path.join(bdir, "fuzz", "gomap-go-oracle")  # where ctest's go_oracle_regressions builds it too
    r = subprocess.run(go_build_cmd(oracle), cwd=ORACLE_SRC, env=go_env(bdir), capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail(TOOL, "building the Go oracle failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    inputs = a.inputs or default_inputs(os.path.join(bdir, "fuzz", "gomap-replay"))
    # Its output is the report, its exit status the verdict (0, 1, 2 or 3).
    return subprocess.run(lockstep_cmd(bdir, oracle, inputs)).returncode


if __name__ == "__main__":
    main_guard(PROG, main)
