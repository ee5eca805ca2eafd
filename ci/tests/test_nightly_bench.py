"""The nightly's benchmark step, with a fake ci/bench.sh that writes a small
synthetic run (two u64 workloads at 1k..8M, four C++ maps and Go): the
report draws one scale-curve plot per workload with one line per map and
shows the ratio table, summary.md and report.json give the files and the
goals' PASS/FAIL count; a bench that could not run, that left no results,
or whose files are gone when the report is re-rendered shows no plot and
says so, and fails the night (3); a wrong result is a finding (1)."""
import argparse
import json
import os
import re
import shutil
import stat
import sys
import unittest

from support import ToolTest

from gomap_ci import bench, nightly

SIZES = [1_000, 10_000, 100_000, 1_000_000, 8_000_000]
WORKLOADS = ["insert_u64", "lookup_hit_u64"]
CPP_MAPS = {"gomap": 10.0, "std": 40.0, "absl": 12.0, "boost": 8.0}  # ns/op at 1k; each doubles per size step


def fixture(go_checksum=7):
    """(gomap_bench JSON, gomap-go-bench JSON) of one synthetic run."""
    cpp, go = [], {"bytes_per_entry": {"1000000": {"bytes_per_entry": 40.0}}}
    for w in WORKLOADS:
        go[w] = {}
        for i, n in enumerate(SIZES):
            for m, ns in CPP_MAPS.items():
                name = f"{w}/{m}/{n}"
                cpp.append({"name": name, "run_name": name, "run_type": "iteration", "ns_per_op": ns * 2 ** i,
                            "label": "checksum=7"})
            go[w][str(n)] = {"ns_per_op": 25.0 * 2 ** i, "checksum": str(go_checksum)}
    cpp.append({"name": "bytes_per_entry/gomap/1000000", "run_name": "bytes_per_entry/gomap/1000000",
                "run_type": "iteration", "bytes_per_entry": 38.0})
    return ({"context": {"date": "2026-12-03", "num_cpus": 2, "load_avg": [0.1]}, "benchmarks": cpp},
            {"map": "go", "workloads": go})


# The fake ci/bench.sh: `--out FILE` as the real one; FAKE_BENCH says what it does.
FAKE = """#!%s
import json, os, sys
out = sys.argv[sys.argv.index("--out") + 1]
mode = os.environ["FAKE_BENCH"]
if mode == "crash":
    print("gomap_bench failed"); sys.exit(3)
if mode == "nothing":
    sys.exit(0)
base = os.path.splitext(out)[0]
with open(os.environ["FAKE_BENCH_FIXTURE"]) as f:
    cpp, go = json.load(f)
for path, doc in ((out, cpp), (base + "-go.json", go)):
    with open(path, "w") as f:
        json.dump(doc, f)
with open(base + ".txt", "w") as f:
    f.write("the table\\n")
sys.exit(1 if mode == "wrong" else 0)
""" % sys.executable


class NightlyBench(ToolTest):
    def night(self, mode, go_checksum=7):
        fake = os.path.join(self.tmp, "bench.sh")
        with open(fake, "w") as f:
            f.write(FAKE)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)
        fixture_path = os.path.join(self.tmp, "fixture.json")
        with open(fixture_path, "w") as f:
            json.dump(fixture(go_checksum), f)
        os.environ.update(FAKE_BENCH=mode, FAKE_BENCH_FIXTURE=fixture_path)
        self.addCleanup(os.environ.pop, "FAKE_BENCH")
        self.addCleanup(os.environ.pop, "FAKE_BENCH_FIXTURE")
        self.addCleanup(setattr, nightly, "BENCH_SH", nightly.BENCH_SH)
        nightly.BENCH_SH = fake
        args = argparse.Namespace(out=os.path.join(self.tmp, "out"), budget_minutes=1.0, jobs=1, adopt=False,
                                  merge=False, canary="", props_cases=1, no_bench=False)
        n = nightly.Night(args)
        n.run_bench()
        code = n.report()
        files = {}
        for name in ("report.json", "summary.md", "report.html"):
            with open(os.path.join(n.dir, name)) as f:
                files[name] = json.load(f) if name.endswith(".json") else f.read()
        return code, files, n.dir

    def plots(self, html):
        """{workload: number of lines} of the scale-curve plots in a report."""
        svgs = re.findall(r"<svg[^>]*>\s*<text[^>]*>(\w+): ns/op against entries</text>(.*?)</svg>", html, re.S)
        return {w: body.count("<polyline") for w, body in svgs}

    def test_the_report_draws_each_workloads_scale_curve(self):
        code, f, d = self.night("ok")
        self.assertEqual((code, f["report.json"]["verdict"]), (0, "CLEAN"), f["summary.md"])
        html = f["report.html"]
        self.assertEqual(self.plots(html), {w: len(CPP_MAPS) + 1 for w in WORKLOADS})  # + Go's line
        for m in list(CPP_MAPS) + ["go"]:
            self.assertIn(f">{m}</text>", html)
        for label in ("1k", "10k", "100k", "1M", "8M"):
            self.assertIn(f">{label}</text>", html)
        self.assertIn("go/gm", html)  # the ratio table
        self.assertIn("2.50x", html)  # go / gomap = 25 / 10 at every size
        b = f["report.json"]["bench"]
        self.assertEqual((b["status"], b["problem"]), ("ok", None))
        self.assertEqual(b["files"]["json"], os.path.join("bench", "bench.json"))
        self.assertEqual(b["files"]["go_json"], os.path.join("bench", "bench-go.json"))
        # Go at 1M and 8M for 2 workloads, boost at 1M for both (8 ns against 10: within 1.5x), bytes/entry
        self.assertEqual((b["pass"], b["fail"]), (7, 0))
        self.assertIn("gomap against its goals: 7 PASS, 0 FAIL", f["summary.md"])
        self.assertIn("`bench/bench.txt`", f["summary.md"])
        for name in ("bench.json", "bench-go.json", "bench.txt"):
            self.assertTrue(os.path.exists(os.path.join(d, "bench", name)))
        self.assertIn('href="bench/bench.json"', html)

    def test_a_bench_that_could_not_run_fails_the_night_and_shows_no_plot(self):
        code, f, _ = self.night("crash")
        self.assertEqual((code, f["report.json"]["verdict"]), (3, "FAILED"))
        self.assertIn("ci/bench.sh did not run to the end (3)", f["report.html"])
        self.assertIn("ci/bench.sh did not run to the end (3)", f["summary.md"])
        self.assertEqual(self.plots(f["report.html"]), {})
        self.assertNotIn("go/gm", f["report.html"])

    def test_a_bench_that_left_no_results_fails_the_night(self):
        code, f, _ = self.night("nothing")
        self.assertEqual((code, f["report.json"]["verdict"]), (3, "FAILED"))
        self.assertIn("bench results", [s["name"] for s in f["report.json"]["failed_steps"]])
        self.assertIn("left no results to show", f["report.html"])
        self.assertIn("left no results to show", f["summary.md"])
        self.assertEqual(self.plots(f["report.html"]), {})

    def test_a_wrong_result_is_a_finding(self):
        code, f, _ = self.night("wrong", go_checksum=8)
        self.assertEqual((code, f["report.json"]["verdict"]), (1, "ATTENTION"))
        self.assertIn("insert_u64 at 1000: checksums differ between maps", f["report.html"])
        self.assertIn("FAILED: a benchmark reported a wrong result", f["summary.md"])

    def test_a_rerender_without_the_nights_files_draws_nothing(self):
        _, f, d = self.night("ok")
        shutil.rmtree(os.path.join(d, "bench"))
        html = nightly.render_html(f["report.json"], [], d)
        self.assertIn("its results cannot be read now", html)
        self.assertEqual(self.plots(html), {})

    def test_skipped_and_old_reports_say_so(self):
        _, f, d = self.night("ok")
        r = dict(f["report.json"], bench={"ran": False, "status": "skipped (--no-bench)"})
        html = nightly.render_html(r, [], d)
        self.assertIn("not measured tonight: skipped (--no-bench)", html)
        self.assertEqual(self.plots(html), {})
        self.assertIn("not measured tonight: skipped (--no-bench)", nightly.markdown(r))
        del r["bench"]
        self.assertIn("not recorded", nightly.render_html(r, [], d))
        self.assertTrue(nightly.parse_args(["--no-bench"]).no_bench)


if __name__ == "__main__":
    unittest.main()
