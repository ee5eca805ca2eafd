"""Every copy-pasteable command of README.md, ci/README.md and fuzz/README.md
(their ```sh blocks) runs as written on a fresh clone: the committed HEAD
is cloned into a scratch folder and each shell line is run there with bash,
in the docs' order, so a command may use what an earlier one built or wrote
(build/fuzz, build/dev) but nothing of this checkout's build or outputs.
A failure is any exit status other than 0, or than the one a line
announces in its comment (`# exit N`).

A line that appears twice runs once. Three kinds of line are left to the
jobs that run them on a fresh checkout already, each named with its reason
(GOMAP_README_RUN=all runs them too; hours on 2 cores):
- `ci/test.sh`: the job that runs this test (.github/workflows/ci.yml runs
  it on a fresh checkout); run here it would run itself;
- the configure, build and test of one of ci/test.sh's presets: the steps
  that job takes;
- `ci/nightly.sh` (other than --help): the nightly job (nightly.yml), which
  builds six presets.

Slow (it builds the fuzz preset and fuzzes): its own ctest, tools_readme_run
(label readme_run, outside `ctest --preset fuzz`). Each line's time is
printed; GOMAP_README_KEEP=1 keeps the scratch clone.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from support import ROOT

from gomap_ci import test as ci_test
from test_readme_commands import DOCS, command_lines, split_line

LINE_TIMEOUT = 1800  # a build of the fuzz preset from nothing on 2 busy cores fits well within it
NESTED = "GOMAP_README_RUN_NESTED"  # set for the commands: a nested copy of this test does not recurse


def left_to_its_job(cmd):
    """Why this shell line is not run here, or None if it is."""
    chain = split_line(cmd)
    first = chain[0]
    if first[0] == "ci/test.sh" and "--help" not in first:
        return "ci/test.sh is the job running this test (ci.yml runs it on a fresh checkout)"
    if first[0] == "ci/nightly.sh" and "--help" not in first:
        return "the nightly job (nightly.yml runs it on a fresh checkout): six preset builds"
    job = ci_test.DEFAULT_PRESETS.split()
    steps = {"cmake", "ctest"}
    if all(argv[0] in steps and "--preset" in argv and "--target" not in argv for argv in chain):
        presets = {argv[argv.index("--preset") + 1] for argv in chain}
        if presets <= set(job):
            return f"the configure/build/test of preset {' '.join(sorted(presets))}: ci/test.sh's own steps"
    return None


def announced_exit(cmd):
    """The exit status a line's comment announces (`# exit 1`), else 0."""
    m = re.search(r"#.*\bexit (\d+)\b", cmd)
    return int(m.group(1)) if m else 0


def plan(root):
    """(doc:line, shell line, reason it is skipped or None) in the docs' order."""
    seen, out = set(), []
    for doc in DOCS:
        for line, cmd in command_lines(doc, root):
            key = shlex.join(shlex.split(cmd, comments=True))  # the same command under another comment too
            reason = "already run above" if key in seen else left_to_its_job(cmd)
            seen.add(key)
            out.append((f"{doc}:{line}", cmd, reason))
    return out


def clean_env():
    """A user's environment: none of the tools' GOMAP_* settings of the
    calling job (a fake fuzzer folder, a test preset list, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOMAP_")}
    env[NESTED] = "1"
    return env


def run_line(cmd, cwd, log_path, env):
    """Runs one shell line with bash in its own process group (a timeout
    ends every fuzzer it started); returns (exit status or 'timeout', s)."""
    start = time.time()
    with open(log_path, "w") as log:
        p = subprocess.Popen(["bash", "-c", cmd], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            status = p.wait(timeout=LINE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            status = "timeout"
    return status, time.time() - start


def tail(path, n=40):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


def run_docs(clone, scratch, run_all=False):
    """Runs the plan in clone, one log per line in scratch, printing each
    line's time; returns the failures as (where, line, status, wanted, log tail)."""
    env = clean_env()
    failures = []
    for i, (where, cmd, reason) in enumerate(plan(clone)):
        if reason and not (run_all and reason != "already run above"):
            print(f"  skip {where}: {cmd.strip()}  ({reason})", file=sys.stderr, flush=True)
            continue
        log_path = os.path.join(scratch, f"line-{i}.log")
        status, secs = run_line(cmd, clone, log_path, env)
        want = announced_exit(cmd)
        print(f"  {secs:6.0f}s  {where}: {cmd.strip()}  -> exit {status}", file=sys.stderr, flush=True)
        if status != want:
            failures.append((where, cmd.strip(), status, want, tail(log_path)))
    return failures


class ReadmeRun(unittest.TestCase):
    def test_plan_leaves_out_only_the_named_jobs(self):
        # the exclusions are narrow: a tool's --help, a fuzz run, a targeted
        # dev build and another preset's steps are all run
        for cmd in ("ci/test.sh --help", "ci/nightly.sh --help", "ci/fuzz.sh --seconds 10 --target map_u64",
                    "cmake --preset dev && cmake --build --preset dev -j2 --target gomap-replay",
                    "cmake --preset fuzz && cmake --build --preset fuzz -j2", "ctest --preset fuzz"):
            with self.subTest(cmd=cmd):
                self.assertIsNone(left_to_its_job(cmd))
        for cmd in ("ci/test.sh", "ci/nightly.sh --budget-minutes 1 --jobs 1",
                    "cmake --preset asan && cmake --build --preset asan -j2 && ctest --preset asan"):
            with self.subTest(cmd=cmd):
                self.assertIsNotNone(left_to_its_job(cmd))
        self.assertEqual(announced_exit("ci/fuzz.sh --canary x   # exit 1: the canary is found"), 1)
        self.assertEqual(announced_exit("ci/fuzz.sh   # every target"), 0)
        runs = [p for p in plan(ROOT) if p[2] is None]
        self.assertGreater(len(runs), 5)

    def test_a_failing_line_is_reported(self):
        # docs whose lines fail in each way: only the unannounced failures count
        with tempfile.TemporaryDirectory(prefix="gomap-readme-fake-") as root:
            os.makedirs(os.path.join(root, "ci"))
            os.makedirs(os.path.join(root, "fuzz"))
            blocks = {"README.md": "```sh\ntrue\nfalse\nsh -c 'exit 3'   # exit 3 here\nci/test.sh\n```\n",
                      "ci/README.md": "```sh\ntrue   # again\nsh -c 'exit 2'   # exit 3 is not what it does\n```\n",
                      "fuzz/README.md": "```text\nfalse\n```\n"}
            for doc, text in blocks.items():
                with open(os.path.join(root, doc), "w") as f:
                    f.write(text)
            failures = run_docs(root, root)
        self.assertEqual([(w, c, s, x) for w, c, s, x, _ in failures],
                         [("README.md:3", "false", 1, 0), ("ci/README.md:3", "sh -c 'exit 2'   # exit 3 is not what it does", 2, 3)])

    @unittest.skipIf(os.environ.get(NESTED) == "1", "inside a README command's run (a nested ci/test.sh)")
    def test_every_command_runs_on_a_fresh_clone(self):
        # The clone holds HEAD: uncommitted edits to the docs would not be the
        # ones run, and a pass would speak for text it never saw.
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", *DOCS], capture_output=True,
                               text=True, check=True).stdout.strip()
        if dirty:
            self.fail(f"the docs have uncommitted changes, and the fresh clone runs HEAD: commit them first\n{dirty}")
        scratch = tempfile.mkdtemp(prefix="gomap-readme-run-")
        try:
            clone = os.path.join(scratch, "gomap")
            subprocess.run(["git", "clone", "--quiet", ROOT, clone], check=True, timeout=300)
            head = subprocess.run(["git", "-C", clone, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            print(f"fresh clone of {head} in {clone}", file=sys.stderr, flush=True)
            start = time.time()
            failures = run_docs(clone, scratch, os.environ.get("GOMAP_README_RUN") == "all")
            print(f"total {time.time() - start:.0f}s", file=sys.stderr, flush=True)
            if failures:
                self.fail("\n".join(f"{w}: `{c}` exited {s}, the doc says {x}; its output ends:\n{t}"
                                     for w, c, s, x, t in failures))
        finally:
            if os.environ.get("GOMAP_README_KEEP") == "1":
                print(f"kept {scratch}", file=sys.stderr)
            else:
                shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
