#!/usr/bin/env python3
"""gomap-go-lockstep against a lying stand-in for the Go oracle
(fake_go_oracle.py): an honest one agrees; a wrong B, a wrong lookup, a dead
or refusing oracle, and bad usage each end as they must (1, 1, 3, 3, 2), with
the summary line last when the programs ran. Usage: go_lockstep_test.py LOCKSTEP"""
import os
import subprocess
import sys
import tempfile
import unittest

LOCKSTEP = sys.argv.pop(1) if len(sys.argv) > 1 else None
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_go_oracle.py")
PROGRAM = "target map_u64\ndomain 1\nseed 1\nhint 0\ndeep 1\n" + "".join(
    f"set {i} {i + 1}\nget {i}\n" for i in range(40)) + "get 3\nlen\ncheck\n"


class Lockstep(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.prog = os.path.join(self.tmp.name, "p.txt")
        with open(self.prog, "w") as f:
            f.write(PROGRAM)

    def tearDown(self):
        self.tmp.cleanup()

    def run_with(self, lie, args=None):
        env = dict(os.environ, FAKE_GO_LIE=lie)
        return subprocess.run([LOCKSTEP, "--go-oracle", FAKE] + (args if args is not None else [self.prog]),
                              capture_output=True, text=True, env=env, timeout=60)

    def test_an_honest_oracle_agrees(self):
        r = self.run_with("")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.splitlines()[-1], "go-oracle: 1 programs, 1 agree, 0 disagree, 0 skipped ops")

    def test_a_different_b_is_a_disagreement_with_go_s_trace(self):
        r = self.run_with("B")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"B differs after op #[0-9]+ \(.*\): gomap B=1, Go B=2")
        self.assertIn("Go's trace", r.stdout)
        self.assertEqual(r.stdout.splitlines()[-1], "go-oracle: 1 programs, 0 agree, 1 disagree, 0 skipped ops")

    def test_a_wrong_lookup_fails_the_oracle(self):
        r = self.run_with("get")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Go's map fails the oracle", r.stdout)
        self.assertIn("failure-rule: lookup", r.stdout)

    def test_a_dead_or_refusing_oracle_is_a_tool_failure(self):
        for lie in ("die", "refuse"):
            with self.subTest(lie=lie):
                r = self.run_with(lie)
                self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_bad_usage_is_one_line(self):
        for args in ([], [os.path.join(self.tmp.name, "missing")], ["--nope", self.prog]):
            with self.subTest(args=args):
                r = self.run_with("", args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
