"""The nightly's fuzzing and triage with fake fuzz targets: a target that
fuzzed nothing is a failed step and the night is not clean (3); a crash is
triaged into one finding with its rule, minimized input, quoted replay
command and log links, and the night says ATTENTION (1); the reports are
written either way."""
import argparse
import json
import os
import sys
import unittest

import support
from support import ToolTest

from gomap_ci import nightly
from gomap_ci.common import run_group


class NightlyRun(ToolTest):
    def test_progress_ticks_and_the_timeout(self):
        ticks = []
        status, _, _ = run_group(["sleep", "2.5"], os.path.join(self.tmp, "l"), tick=ticks.append, every=1.0)
        self.assertEqual((status, len(ticks)), (0, 2))
        status, secs, _ = run_group(["sh", "-c", "sleep 30 & wait"], os.path.join(self.tmp, "l"), timeout=1,
                                    tick=ticks.append, every=0.4)
        self.assertEqual(status, "timeout")
        self.assertLess(secs, 10)

    def test_peak_rss_counts_the_children_it_waited_for(self):
        # the shell's own RSS is a few MB: 120 MB can only be its child's
        grow = "b = bytearray(120 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1"
        r = run_group(["sh", "-c", f"{sys.executable} -c '{grow}'; true"], os.path.join(self.tmp, "l"))
        self.assertEqual(r.status, 0)
        self.assertGreaterEqual(r.peak_rss_mb, 120)
        self.assertEqual(run_group(["/nonexistent/x"]).peak_rss_mb, None)


class NightlyFuzzing(ToolTest):
    def night(self, mode):
        os.environ["FAKE_FUZZER_MODE"] = mode
        self.addCleanup(os.environ.pop, "FAKE_FUZZER_MODE")
        bins = support.fake_bin_dir(self.tmp)
        args = argparse.Namespace(out=os.path.join(self.tmp, "out"), budget_minutes=1.0, jobs=1, adopt=False,
                                  merge=False, canary="", props_cases=1)
        n = nightly.Night(args)
        n.asan_share = 1.0
        n.budget_s = 2  # each target gets max(10, ...) seconds unless called directly
        n.fuzz_target(os.path.join(bins, "map_u64"), "map_u64", 1, {}, "fake")
        code = n.report()
        with open(os.path.join(n.dir, "report.json")) as f:
            return code, json.load(f), n.dir

    def test_a_target_that_fuzzed_nothing_fails_the_night(self):
        code, r, d = self.night("zero")
        self.assertEqual((code, r["verdict"]), (3, "FAILED"))
        self.assertIn("fuzzed nothing", r["fuzz"]["map_u64"]["status"])
        for name in ("summary.md", "report.html"):
            self.assertTrue(os.path.getsize(os.path.join(d, name)) > 0)

    def test_a_fork_run_reports_its_workers_peak_rss(self):
        # -fork's parent log has no rss: the 150 MB worker is measured by the kernel
        code, r, d = self.night("fork")
        self.assertEqual(r["fuzz"]["map_u64"]["status"], "ok")
        self.assertGreaterEqual(r["fuzz"]["map_u64"]["peak_rss_mb"], 150)
        with open(os.path.join(d, "summary.md")) as f:
            self.assertRegex(f.read(), r"\| map_u64 \|.*\| 1[5-9]\d MB \|")

    def test_a_crash_becomes_one_triaged_finding(self):
        code, r, d = self.night("crash")
        self.assertEqual((code, r["verdict"]), (1, "ATTENTION"))
        (f,) = r["findings"]
        self.assertTrue(f["signature"].startswith("load-factor"), f["signature"])
        self.assertEqual(f["rule_text"], "[load-factor] growth starts one entry early")
        self.assertTrue(os.path.exists(f["minimized"]))
        self.assertIn("--target map_u64", f["replay"])
        for _name, link in f["links"]:
            self.assertTrue(os.path.exists(os.path.join(d, link)), link)
        with open(os.path.join(d, "report.html")) as h:
            self.assertIn("growth starts one entry early", h.read())


if __name__ == "__main__":
    unittest.main()
