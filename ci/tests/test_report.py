"""The nightly's HTML report from its template: commit, date, duration and
host at the top; each finding with rule text, trace, replay command and log
links; trend plots over dated nights that leave gaps where nights are
missing and leave canary nights out; the state-coverage and exec/s tables."""
import datetime
import json
import os
import unittest

from support import ToolTest

from gomap_ci import nightly, plots

UTC = datetime.timezone.utc


def night(day, exec_s, canary="", coverage=True):
    return {"stamp": day.replace("-", "") + "T010000Z", "started": day + "T01:00:00+00:00", "commit": "c0ffee",
            "canary": canary, "verdict": "CLEAN", "findings": 0,
            "coverage": {"line_percent": 90.0, "branch_percent": 80.0} if coverage else {},
            "targets": {"map_u64": {"exec_per_sec": exec_s, "cov": 600, "ft": 4000, "peak_rss_mb": 400}}}


REPORT = {
    "stamp": "20261203T010000Z", "started": "2026-12-03T01:00:00+00:00", "wall_seconds": 2400.0,
    "commit": "c0ffee123456", "host": "runner-7", "canary": "", "budget_minutes": 30, "jobs": 2,
    "verdict": "ATTENTION", "exit": 1, "interrupted": None, "ok": False,
    "steps": [{"name": "build fuzz", "status": "ok", "seconds": 1, "log": "logs/build_fuzz.log", "kind": None}],
    "failed_steps": [],
    "fuzz": {"map_u64": {"kind": "asan+ubsan", "status": "ok", "runs": 1, "exec_per_sec": 4321, "cov": 1, "ft": 1,
                         "peak_rss_mb": 1, "corpus": 1, "artifacts": ["crash-1"], "seconds": 1}},
    "coverage": {},
    "state_coverage": {"targets": ["map_u64"], "rows": [["no-nan/doubling/iter-before/clear", ["miss"]]],
                       "summary": {"map_u64": {"reached": 0, "reachable": 1, "missed": []}}},
    "findings": [{"target": "map_u64", "found_by": ["map_u64"], "signature": "load-factor @ gomap::Map::insert",
                  "rule_text": "[load-factor] growth starts one entry early", "minimized": "/m", "minimized_bytes": 9,
                  "trace": "/t", "trace_text": "set 1 1\nset 2 2", "candidate_regression": None,
                  "replay": "gomap-replay --target map_u64 '/a b'", "duplicates": [],
                  "links": [["reproduction log", "triage/map_u64/crash-1.repro.log"]]}],
}


class Report(ToolTest):
    def render(self, history):
        path = os.path.join(self.tmp, "history.jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in history)
        return nightly.render_html(REPORT, nightly.read_history(path))

    def test_header_findings_and_tables(self):
        html = self.render([night("2026-12-03", 4321)])
        for text in ("c0ffee123456", "2026-12-03T01:00:00", "40 min", "runner-7", "[load-factor] growth starts one",
                     "set 2 2", "gomap-replay --target map_u64 &#39;/a b&#39;", 'href="triage/map_u64/crash-1.repro.log"',
                     "no-nan/doubling/iter-before/clear", ">4321<"):
            self.assertIn(text, html)

    def test_axes_are_dated_and_labelled(self):
        html = self.render([night("2026-11-25", 4000), night("2026-11-26", 4100), night("2026-11-27", 4200)])
        self.assertIn(">2026-11-25<", html)
        self.assertIn(">2026-11-27<", html)
        self.assertIn(">night (UTC)<", html)
        self.assertIn(">exec/s<", html)

    def test_canary_nights_stay_out_of_the_trend(self):
        html = self.render([night("2026-11-25", 4000), night("2026-11-26", 17, canary="growth-off-by-one"),
                            night("2026-11-27", 4200)])
        self.assertNotIn("2026-11-26 01:00: 17", html)
        self.assertIn("1 canary night(s) left out", html)

    def test_missing_nights_break_the_lines(self):
        t = [datetime.datetime(2026, 11, d, 1, tzinfo=UTC) for d in (1, 2, 3, 7, 8)]
        c = plots.chart("x", "u", t, {"a": [1, 2, 3, 4, 5], "b": [1, None, 3, 4, 5]})
        a, b = c["lines"]
        self.assertEqual(len(a["segments"]), 2)  # 3 -> 7 is a gap
        self.assertEqual(len(b["segments"]), 1)  # 1 alone, 3 alone: no line; 7-8
        self.assertEqual(len(b["points"]), 4)
        # x follows the date: the gap is four times a night's width
        xs = [p[0] for p in a["points"]]
        self.assertAlmostEqual((xs[3] - xs[2]) / (xs[1] - xs[0]), 4, delta=0.05)  # rounded to 0.1 px

    def test_nights_recorded_before_started_existed_are_read(self):
        old = {"stamp": "20261120T010203Z", "coverage": {}, "findings": 0,
               "targets": {"map_u64": {"exec_per_sec": 1, "cov": 2, "ft": 3}}}
        path = os.path.join(self.tmp, "history.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps(old) + "\n" + json.dumps(night("2026-11-25", 1)) + "\n")
        nights = nightly.read_history(path)
        self.assertEqual([n["_when"].day for n in nights], [20, 25])

    def test_a_damaged_history_line_is_skipped(self):
        path = os.path.join(self.tmp, "history.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps(night("2026-11-25", 1)) + "\n{not json\n")
        self.assertEqual(len(nightly.read_history(path)), 1)


if __name__ == "__main__":
    unittest.main()
