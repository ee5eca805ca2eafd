"""ci/go-oracle.sh and its nightly step: a missing input is bad usage (one
line, exit 2, nothing built); the nightly runs gomap-go-lockstep on the
corpora tonight's fuzzing filled (as a finding step) after building it and
the Go oracle, and runs nothing when a build fails."""
import os
import types
import unittest

from support import ToolTest, run, tool

from gomap_ci import go_oracle


class FakeNight:
    def __init__(self, base, fail_at=None):
        self.dir = base
        self.args = types.SimpleNamespace(jobs=2)
        self.steps = []
        self.fail_at = fail_at

    def step(self, name, cmd, timeout=None, env=None, cwd=None, failure="failed"):
        self.steps.append((name, cmd, failure))
        return not (self.fail_at and self.fail_at in name)


class GoOracle(ToolTest):
    def test_a_missing_input_is_one_line(self):
        r = run([tool("go-oracle.sh"), "no-such-folder"], cwd=self.tmp, timeout=30)
        self.assertOneLineError(r)
        self.assertIn("no-such-folder", r.stderr)

    def corpora(self):
        for t, files in (("map_u64", 2), ("map_double", 0), ("std_u64", 1)):
            d = os.path.join(self.tmp, "fuzz", t, "corpus")
            os.makedirs(d)
            for i in range(files):
                open(os.path.join(d, f"input{i}"), "wb").close()

    def test_the_nightly_runs_the_lockstep_on_tonight_s_corpora(self):
        self.corpora()
        night = FakeNight(self.tmp)
        go_oracle.nightly(night, ["map_u64", "map_double", "std_u64", "map_string"])
        name, cmd, failure = night.steps[-1]
        # a disagreement (exit 1) is a finding; bad input (2) or a dead Go oracle (3) is the tool's
        self.assertEqual([failure(1), failure(2), failure(3)], ["finding", "tool", "tool"])
        self.assertTrue(cmd[0].endswith("gomap-go-lockstep"), cmd)
        # the filled corpora only: map_double's is empty, map_string has none
        self.assertEqual(cmd[3:], [os.path.join(self.tmp, "fuzz", t, "corpus") for t in ("map_u64", "std_u64")])

    def test_a_failed_build_runs_nothing(self):
        self.corpora()
        for fail_at in ("build gomap-go-lockstep", "build gomap-go-oracle"):
            with self.subTest(fail_at=fail_at):
                night = FakeNight(self.tmp, fail_at)
                go_oracle.nightly(night, ["map_u64"])
                self.assertEqual(night.steps[-1][0], fail_at)


if __name__ == "__main__":
    unittest.main()
