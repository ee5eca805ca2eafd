"""Every ci/ entry point: --help prints help and exits 0 without doing the
job; bad usage (a missing flag value, nan/inf, an unwritable --out, an
unknown canary) is one line and exit 2, never a traceback; input paths are
relative to the caller's directory; ci/replay.sh treats an unreadable input
as bad input (2), not a finding."""
import os
import time
import unittest

from support import ROOT, ToolTest, run, tool

import contextlib
import io

from gomap_ci import build, replay

ENTRY_POINTS = sorted(f for f in os.listdir(os.path.join(ROOT, "ci")) if f.endswith(".sh"))


class Cli(ToolTest):
    def test_help_prints_help_and_exits_0(self):
        self.assertIn("test.sh", ENTRY_POINTS)
        for script in ENTRY_POINTS:
            with self.subTest(script=script):
                start = time.time()
                r = run([tool(script), "--help"], cwd=self.tmp, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: ci/" + script), r.stdout[:200])
                self.assertLess(time.time() - start, 10)
                self.assertEqual(os.listdir(self.tmp), [])

    def test_a_missing_flag_value_is_one_line(self):
        for cmd in (["fuzz.sh", "--seconds"], ["nightly.sh", "--jobs"], ["bench.sh", "--filter"],
                    ["replay.sh", "--target"], ["test.sh", "--presets"], ["fuzz.sh", "--canary"]):
            with self.subTest(cmd=cmd):
                r = run([tool(cmd[0])] + cmd[1:])
                self.assertOneLineError(r)
                self.assertIn("expected one argument", r.stderr)

    def test_nightly_bad_numbers_and_unwritable_out(self):
        for args in (["--budget-minutes", "nan"], ["--budget-minutes", "inf"], ["--budget-minutes", "-1"],
                     ["--jobs", "0"], ["--out", "/proc/x"]):
            with self.subTest(args=args):
                # --out first: if a bad value were taken, nothing lands in the tree (a later --out wins)
                self.assertOneLineError(run([tool("nightly.sh"), "--out", self.tmp, *args], timeout=30))

    def test_test_sh_rejects_an_unknown_preset(self):
        self.assertOneLineError(run([tool("test.sh"), "--presets", "dev nope"]))

    def test_oss_fuzz_build_needs_out(self):
        r = run([tool("oss-fuzz-build.sh")], env={"OUT": ""})
        self.assertOneLineError(r)

    def test_relative_paths_are_the_callers(self):
        # README.md exists at the repository root, not in the caller's folder
        for script in ("replay.sh", "screenshot.sh"):
            with self.subTest(script=script):
                r = run([tool(script), "README.md"], cwd=self.tmp, timeout=30)
                self.assertOneLineError(r)
                self.assertIn(os.path.join(os.path.realpath(self.tmp), "README.md"), r.stderr)

    def test_replay_unreadable_input_is_bad_input(self):
        self.assertOneLineError(run([tool("replay.sh"), os.path.join(self.tmp, "missing.bin")]))
        self.assertOneLineError(run([tool("replay.sh"), self.tmp]))  # a folder is not one artifact

    def test_replay_finds_concurrent_targets(self):
        maps = ["map_u64"]
        # a stand-in gomap-replay --to-text: a file naming concurrent_sched is a scheduled program
        fake = os.path.join(self.tmp, "fake-replay")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\ngrep -q sched "$2" && printf "target concurrent_sched\\n" || printf "target map_u64\\n"\n')
        os.chmod(fake, 0o755)
        plain, sched = os.path.join(self.tmp, "crash-1"), os.path.join(self.tmp, "concurrent_map", "kept.txt")
        os.makedirs(os.path.dirname(sched))
        for path, text in ((plain, "set 1 1\n"), (sched, "target concurrent_sched\n")):
            with open(path, "w") as f:
                f.write(text)
        self.assertEqual(replay.concurrent_target("concurrent_map", plain, maps, fake), "concurrent_map")
        self.assertEqual(replay.concurrent_target(None, "/a/concurrent_map/crash-1", maps, fake), "concurrent_map")
        self.assertIsNone(replay.concurrent_target(None, plain, maps, fake))
        self.assertIsNone(replay.concurrent_target("map_u64", plain, maps, fake))
        # a scheduled program under a concurrent_map/ folder is still concurrent_sched
        self.assertEqual(replay.concurrent_target(None, sched, maps, fake), "concurrent_sched")


class BuildProgress(ToolTest):
    def test_a_build_prints_progress_and_a_heartbeat_when_quiet(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = build.run_logged(["sh", "-c", "echo '[ 10%] Building CXX object a.o'; sleep 2.5; "
                                             "echo '[ 90%] Built target a'"], os.path.join(self.tmp, "b.log"),
                                      self.tmp, "dev", every=1.0)
        lines = out.getvalue().splitlines()
        self.assertEqual(status, 0)
        self.assertEqual(lines[0], "   dev [ 10%] Building CXX object a.o")
        self.assertRegex(lines[1], r"dev \[ 10%\] still building \(\ds; Building CXX object a.o\)")
        self.assertEqual(lines[-1], "   dev [ 90%] Built target a")


class Canaries(ToolTest):
    def setUp(self):
        super().setUp()
        from gomap_ci import canary
        self.names = list(canary.names())

    def test_a_misspelt_canary_is_bad_usage_naming_the_known_ones(self):
        for cmd in (["fuzz.sh", "--canary", "growth-of-by-one", "--out", self.tmp],
                    ["nightly.sh", "--canary", "growth-of-by-one", "--out", self.tmp],
                    ["canaries.sh", "growth-off-by-one", "growth-of-by-one"]):
            with self.subTest(cmd=cmd):
                r = run([tool(cmd[0]), *cmd[1:]])
                self.assertOneLineError(r)
                self.assertIn(self.names[0], r.stderr)

    def test_list_canaries(self):
        for script in ("fuzz.sh", "nightly.sh", "canaries.sh"):
            with self.subTest(script=script):
                r = run([tool(script), "--list-canaries"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual([l.split("\t")[0] for l in r.stdout.splitlines()], self.names)


if __name__ == "__main__":
    unittest.main()
