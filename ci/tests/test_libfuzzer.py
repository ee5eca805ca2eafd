"""The one libFuzzer log parser, the one .options reader, and triage's reading of a failure."""
import os
import types
import unittest
from unittest import mock

from support import FAKE_TARGETS, ToolTest, fake_bin_dir

from gomap_ci import common, fuzz, libfuzzer, triage
from gomap_ci.common import TOOL, Fail

PLAIN = """INFO: Seed: 1
#2\tINITED cov: 120 ft: 300 corp: 10/200b exec/s: 0 rss: 31Mb
#4096\tpulse  cov: 150 ft: 420 corp: 12/240b lim: 8 exec/s: 2048 rss: 64Mb
#9000\tNEW    cov: 151 ft: 430 corp: 13/250b lim: 8 exec/s: 3000 rss: 60Mb L: 5/8 MS: 1 Custom-
Done 9100 runs in 3 second(s)
stat::number_of_executed_units: 9100
stat::average_exec_per_sec:     3033
stat::new_units_added:          3
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              66
"""
FORK = """INFO: -fork=2: fuzzing in separate process(s)
#1000: cov: 200 ft: 500 corp: 20 exec/s 500 oom/timeout/crash: 0/0/0 time: 2s job: 1 dft_time: 0
#5000: cov: 210 ft: 530 corp: 22 exec/s 800 oom/timeout/crash: 0/1/2 time: 6s job: 3 dft_time: 0
INFO: fuzzed for 7 seconds, wrapping up soon
"""


class Parser(ToolTest):
    def test_plain_log_with_final_stats(self):
        s = libfuzzer.parse_log(PLAIN)
        self.assertEqual((s["runs"], s["exec_per_sec"], s["cov"], s["ft"], s["peak_rss_mb"], s["final"]),
                         (9100, 3033, 151, 430, 66, True))

    def test_fork_mode_status_lines(self):
        s = libfuzzer.parse_log(FORK)
        self.assertEqual((s["runs"], s["exec_per_sec"], s["cov"], s["ft"], s["final"]), (5000, 800, 210, 530, False))
        self.assertEqual(s["fork_fails"], {"oom": 0, "timeout": 1, "crash": 2})

    def test_a_run_that_never_started(self):
        s = libfuzzer.parse_log("ERROR: something\n")
        self.assertEqual((s["runs"], s["final"]), (0, False))


class Verdict(ToolTest):
    """The one "did it fuzz as asked" rule of ci/fuzz.sh and the nightly."""

    def kind(self, log, exit=0, seconds=10, budget=10, artifacts=0, **kw):
        return libfuzzer.verdict(libfuzzer.parse_log(log), exit, seconds, budget, artifacts, **kw)[0]

    def test_each_way_of_not_fuzzing_fails(self):
        self.assertEqual(self.kind(PLAIN), "clean")
        self.assertEqual(self.kind(FORK, forked=True), "clean")  # a -fork parent prints no final stats
        self.assertEqual(self.kind(PLAIN, exit=1, artifacts=1), "finding")
        for log, kw in (("ERROR: bad options\n", {"exit": 1}),  # 0 runs
                        (FORK, {}),  # no final stats from a plain run: it was cut short
                        (PLAIN, {"exit": -9}),  # killed without an artifact
                        (PLAIN, {"exit": "cannot run: No such file or directory"}),
                        (PLAIN, {"hung": True}),
                        (PLAIN, {"seconds": 5}),  # half its budget
                        (FORK, {"forked": True, "seconds": 3})):
            with self.subTest(log=log[:20], **{k: str(v) for k, v in kw.items()}):
                self.assertEqual(self.kind(log, **kw), "failed")


class Triage(ToolTest):
    def test_the_machine_readable_rule_comes_first(self):
        text = "FAILED at #3\n  rule:     [load-factor] growth starts early\nfailure-rule: load-factor-trigger\n"
        self.assertEqual(triage.family(text), "load-factor-trigger")
        self.assertEqual(triage.rule_text(text), "[load-factor] growth starts early")

    def test_then_the_rule_family_then_the_sanitizer_kind(self):
        self.assertEqual(triage.family("  rule:     [iteration] each key once\n"), "iteration")
        asan = "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6\n"
        self.assertEqual(triage.family(asan), "ERROR: AddressSanitizer: heap-use-after-free")
        self.assertEqual(triage.family("ERROR: libFuzzer: timeout after 10 seconds\n"), "ERROR: libFuzzer: timeout")
        self.assertIsNone(triage.family("nothing to see\n"))


class Options(ToolTest):
    def test_shipped_options_files_read(self):
        for name in os.listdir(libfuzzer.CORPUS):
            if name.endswith(".options"):
                flags = libfuzzer.options_flags(name[:-len(".options")])
                self.assertTrue(flags, name)
                for f in flags:
                    self.assertRegex(f, r"^-\w+=\S+$")
                    if f.startswith("-dict="):
                        self.assertTrue(os.path.exists(f[len("-dict="):]), f)

    def test_keys_values_and_dict_path(self):
        with open(os.path.join(self.tmp, "t.options"), "w") as f:
            f.write("# comment\n[libfuzzer]\nmax_len = 256\ndict = t.dict\n")
        self.assertEqual(libfuzzer.options_flags("t", corpus=self.tmp),
                         ["-max_len=256", f"-dict={os.path.join(self.tmp, 't.dict')}"])
        self.assertEqual(libfuzzer.options_flags("absent", corpus=self.tmp), [])

    def test_a_malformed_file_is_bad_input(self):
        with open(os.path.join(self.tmp, "t.options"), "w") as f:
            f.write("max_len = 256\n")
        with self.assertRaises(common.Fail) as e:
            libfuzzer.options_flags("t", corpus=self.tmp)
        self.assertEqual(e.exception.code, common.USAGE)


if __name__ == "__main__":
    unittest.main()


class JobTargets(ToolTest):
    """ci/fuzz.sh's job is the map registry plus the fuzz targets that ship a
    corpus; when fuzz.sh built them itself, one that is missing fails the job
    instead of shortening it."""

    def test_the_job_includes_concurrent_sched(self):
        d = fake_bin_dir(self.tmp)
        job = libfuzzer.job_targets(os.path.join(d, "gomap-replay"))
        self.assertEqual(job[:len(FAKE_TARGETS)], list(FAKE_TARGETS))  # the registry first
        self.assertIn("concurrent_sched", job)
        self.assertNotIn("concurrent_map", job)  # ships no corpus: the nightly's TSan runs fuzz it

    def test_a_target_the_build_did_not_make_is_a_tool_failure(self):
        d = fake_bin_dir(self.tmp)  # has no concurrent_sched
        args = types.SimpleNamespace(target=[])
        env = {k: v for k, v in os.environ.items() if k != "GOMAP_FUZZ_BIN_DIR"}
        with mock.patch.dict(os.environ, env, clear=True):
            with self.assertRaises(Fail) as caught:
                fuzz.choose_targets(args, d, os.path.join(d, "gomap-replay"))
        self.assertEqual(caught.exception.code, TOOL)
        self.assertIn("concurrent_sched", str(caught.exception))
        # a prebuilt folder is taken as it is
        with mock.patch.dict(os.environ, dict(env, GOMAP_FUZZ_BIN_DIR=d), clear=True):
            self.assertEqual(fuzz.choose_targets(args, d, os.path.join(d, "gomap-replay")), list(FAKE_TARGETS))
