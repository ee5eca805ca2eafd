"""ci/fuzz.sh under injected faults (fake fuzz targets from fake_fuzzer.py):
a target that ran nothing or less than asked is never green, a hang is
killed, a crash is saved atomically and reported with a quoted replay
command, SIGTERM kills the fuzzer's whole family and still writes a report,
a full disk is one line and exit 3 with no empty crash file, and two runs
started in the same second get their own folders."""
import glob
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import time
import unittest

import support
from support import ToolTest, run, tool

from gomap_ci import build, common


class FuzzFaults(ToolTest):
    def fuzz(self, mode, *args, out=None, cwd=None, env=None, timeout=120, targets=("map_u64",)):
        self.out = out or os.path.join(self.tmp, "out")
        cmd = [tool("fuzz.sh"), "--out", self.out, *[x for t in targets for x in ("--target", t)], *args]
        e = {"GOMAP_FUZZ_BIN_DIR": self.bins, "FAKE_FUZZER_MODE": mode, **(env or {})}
        return run(cmd, cwd=cwd, env=e, timeout=timeout)

    def setUp(self):
        super().setUp()
        self.bins = support.fake_bin_dir(self.tmp)

    def report(self):
        (path,) = glob.glob(os.path.join(self.out, "2*", "report.json"))
        with open(path) as f:
            return json.load(f)

    def test_a_clean_run_is_green_with_a_table_and_next_step(self):
        r = self.fuzz("clean", "--seconds", "2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("peak MB", r.stdout)
        row = self.report()["targets"][0]
        self.assertEqual((row["status"], row["peak_rss_mb"]), ("clean", 42))
        self.assertTrue(r.stdout.strip().splitlines()[-1].startswith("next: "), r.stdout)

    def test_a_fuzzer_that_ran_nothing_is_not_green(self):
        for mode in ("zero", "zero-ok"):
            with self.subTest(mode=mode):
                r = self.fuzz(mode, "--seconds", "2", out=os.path.join(self.tmp, mode))
                self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
                self.assertIn("did not fuzz as asked", r.stdout)
                self.assertEqual(self.report()["verdict"], "FAILED")

    def test_no_target_built_is_not_green(self):
        for name in support.FAKE_TARGETS:
            os.unlink(os.path.join(self.bins, name))  # only gomap-replay is left
        r = self.fuzz("clean", "--seconds", "2", targets=())
        self.assertOneLineError(r, code=3)
        self.assertIn("no fuzz target is built", r.stderr)

    def test_a_fuzzer_that_ran_less_than_asked_is_not_green(self):
        r = self.fuzz("short", "--seconds", "5")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("of the 5s asked", r.stdout)

    def test_a_hang_is_killed_and_not_green(self):
        start = time.time()
        r = self.fuzz("hang", "--seconds", "1", env={"GOMAP_FUZZ_GRACE_SECONDS": "2"})
        self.assertLess(time.time() - start, 60)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("after a 1s budget; killed", r.stdout)

    def test_an_overflowing_budget_is_bad_usage(self):
        for bad in ("9223372036854775807", "0", "-5", "1e3", "nan"):
            with self.subTest(seconds=bad):
                self.assertOneLineError(self.fuzz("clean", "--seconds", bad))

    def test_a_missing_flag_value_is_bad_usage(self):
        r = run([tool("fuzz.sh"), "--out"])
        self.assertOneLineError(r)
        self.assertIn("expected one argument", r.stderr)

    def test_an_unknown_target_is_bad_usage(self):
        self.assertOneLineError(self.fuzz("clean", targets=("map_nope",)))
        # and before the build, which would take minutes
        self.assertOneLineError(run([tool("fuzz.sh"), "--target", "map_nope", "--out", self.tmp], timeout=30))

    def test_the_command_line_and_merge(self):
        argv_log = os.path.join(self.tmp, "argv")
        r = self.fuzz("clean", "--seconds", "1", "--merge", env={"FAKE_FUZZER_ARGV": argv_log})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(argv_log) as f:
            fuzz, merge = [l.rstrip("\n").split("\t") for l in f]
        corpus = os.path.join(support.ROOT, "corpus")
        # the .options flags (dict resolved in corpus/), the budget, artifacts in the run folder
        self.assertIn(f"-dict={corpus}/map_u64.dict", fuzz)
        self.assertIn("-max_len=256", fuzz)
        self.assertIn("-max_total_time=1", fuzz)
        self.assertTrue(any(a.startswith("-artifact_prefix=" + self.out) for a in fuzz), fuzz)
        self.assertEqual(fuzz[-1], os.path.join(corpus, "map_u64"))  # seeds read, never written
        self.assertIn("-merge=1", merge)
        self.assertEqual(merge[-2], os.path.join(corpus, "map_u64"))  # merged into the shipped corpus
        self.assertTrue(merge[-1].startswith(self.out))

    def test_progress_lines_every_ten_seconds(self):
        r = self.fuzz("clean", "--seconds", "12")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"\[map_u64\] 1\ds: \d+ execs, \d+ exec/s, cov \d+, ft \d+, 0 crash\(es\)")

    def test_a_crash_is_saved_atomically_and_its_replay_command_is_quoted(self):
        out = os.path.join(self.tmp, "out with space")
        r = self.fuzz("crash", "--seconds", "2", out=out)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        crashes = os.listdir(os.path.join(out, "crashes", "map_u64"))
        self.assertEqual(len(crashes), 1, crashes)  # no temporary left behind
        path = os.path.join(out, "crashes", "map_u64", crashes[0])
        self.assertGreater(os.path.getsize(path), 0)
        line = next(l for l in r.stdout.splitlines() if "--target map_u64" in l and "gomap-replay" in l)
        argv = shlex.split(line.strip())
        self.assertEqual(argv[-1], path)
        self.assertIn("next: replay a crash", r.stdout)

    def test_a_hanging_build_step_times_out_with_its_children(self):
        start = time.time()
        status = build.run_logged(["sh", "-c", "echo '[ 50%] Building x'; sleep 60 & wait"],
                                  os.path.join(self.tmp, "b.log"), self.tmp, "x", timeout=1)
        self.assertEqual(status, "timeout")
        self.assertLess(time.time() - start, 15)

    def test_artifacts_are_never_overwritten(self):
        path = os.path.join(self.tmp, "crash")
        first = common.write_atomic(path, b"one", overwrite=False)
        second = common.write_atomic(path, b"two", overwrite=False)
        self.assertNotEqual(first, second)
        with open(first, "rb") as f:
            self.assertEqual(f.read(), b"one")
        self.assertEqual(sorted(os.listdir(self.tmp))[:2], ["bin", "crash"])

    def test_two_runs_in_the_same_second_get_their_own_folders(self):
        self.assertNotEqual(common.unique_dir(self.tmp, "S")[0], common.unique_dir(self.tmp, "S")[0])
        out = os.path.join(self.tmp, "out")
        env = dict(os.environ, GOMAP_FUZZ_BIN_DIR=self.bins, FAKE_FUZZER_MODE="clean")
        procs = [subprocess.Popen([tool("fuzz.sh"), "--out", out, "--target", "map_u64", "--seconds", "2"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], outs)
        runs = sorted(glob.glob(os.path.join(out, "2*")))
        self.assertEqual(len(runs), 2, runs)
        for d in runs:
            with open(os.path.join(d, "report.json")) as f:
                self.assertEqual(json.load(f)["run_dir"], d)

    def test_relative_out_is_relative_to_the_callers_directory(self):
        r = self.fuzz("clean", "--seconds", "1", out="rel out", cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(glob.glob(os.path.join(self.tmp, "rel out", "2*", "report.json"))), 1)

    def test_sigterm_kills_the_fuzzers_and_still_reports(self):
        pidfile = os.path.join(self.tmp, "grandchild.pid")
        out = os.path.join(self.tmp, "out")
        env = dict(os.environ, GOMAP_FUZZ_BIN_DIR=self.bins, FAKE_FUZZER_MODE="family", FAKE_FUZZER_PIDFILE=pidfile)
        p = subprocess.Popen([tool("fuzz.sh"), "--out", out, "--target", "map_u64", "--target", "map_double",
                              "--jobs", "1", "--seconds", "120"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 30
        while not os.path.exists(pidfile) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        with open(pidfile) as f:
            grandchild = int(f.read())
        p.send_signal(signal.SIGTERM)
        text = p.communicate(timeout=60)[0]
        self.assertEqual(p.returncode, 3, text)
        time.sleep(0.5)
        try:
            with open(f"/proc/{grandchild}/status") as f:
                alive = "State:\tZ" not in f.read()
        except FileNotFoundError:
            alive = False
        self.assertFalse(alive, "the fuzzer's child survived SIGTERM")
        (report,) = glob.glob(os.path.join(out, "2*", "report.json"))
        with open(report) as f:
            r = json.load(f)
        self.assertTrue(r["interrupted"])
        self.assertEqual([t["status"] for t in r["targets"]], ["interrupted", "interrupted"])
        self.assertEqual(r["targets"][1]["reason"], "interrupted before it started")

    def test_a_full_disk_is_one_line_exit_3_and_no_empty_crash_file(self):
        out = os.path.join(self.tmp, "small")
        os.makedirs(out)
        cmd = [tool("fuzz.sh"), "--out", out, "--target", "map_u64", "--seconds", "1"]
        env = dict(os.environ, GOMAP_FUZZ_BIN_DIR=self.bins, FAKE_FUZZER_MODE="fill")
        if shutil.which("unshare") and run(["unshare", "-r", "-m", "true"]).returncode == 0:
            # a 256 KiB tmpfs, in a mount namespace of our own; empty crash
            # files are listed before the namespace (and the tmpfs) goes
            cmd = ["unshare", "-r", "-m", "sh", "-c", 'mount -t tmpfs -o size=256k tmpfs "$0" || exit 99; "$@"; rc=$?; '
                   'find "$0/crashes" -type f -empty -printf "EMPTY %p\\n" 2>/dev/null; exit $rc', out] + cmd
            limit = None
        else:
            # no mount namespace: a 1 KiB file-size limit (per file, so the crash file is cut short
            # rather than empty, but the log and the report cannot be written: the same one line)
            limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))  # noqa: E731
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, preexec_fn=limit)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertIn("disk full", r.stderr + r.stdout)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertNotIn("EMPTY", r.stdout)
        for f in glob.glob(os.path.join(out, "crashes", "*", "*")):
            self.assertGreater(os.path.getsize(f), 0, f)


if __name__ == "__main__":
    unittest.main()
