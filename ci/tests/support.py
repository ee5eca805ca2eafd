"""Shared by the tools tests: where the tools are, how to run one, and a
folder of fake fuzz targets (fake_fuzzer.py under each target's name)."""
import os
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "ci"))
FAKE = os.path.join(HERE, "fake_fuzzer.py")
FAKE_TARGETS = ("map_u64", "map_double")


def tool(name):
    return os.path.join(ROOT, "ci", name)


def run(cmd, cwd=None, env=None, timeout=120):
    """Runs a tool in its own process group; on a timeout the whole group is
    killed (a tool that wrongly went on to build must not outlive the test)."""
    full = dict(os.environ, **(env or {}))
    p = subprocess.Popen(cmd, cwd=cwd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def fake_bin_dir(parent):
    """A build/fuzz/fuzz look-alike: every target and gomap-replay are the fake."""
    d = os.path.join(parent, "bin")
    os.makedirs(d)
    for name in FAKE_TARGETS + ("gomap-replay",):
        os.symlink(FAKE, os.path.join(d, name))
    return d


class ToolTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="gomap-tools-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def assertOneLineError(self, r, code=2):
        """Bad input: the given exit code and one line on stderr, no traceback."""
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
