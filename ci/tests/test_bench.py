"""ci/bench.sh --table: the table reads the 1M-entry point of the scale
curve (<workload>/<map>/<n>), a benchmark's error is exit 1, an unreadable
file exit 2."""
import json
import os
import unittest

from support import ToolTest, run, tool


def bench(name, ns=None, error=None):
    b = {"name": name, "run_name": name, "run_type": "iteration"}
    if ns is not None:
        b["ns_per_op"] = ns
    if error:
        b.update(error_occurred=True, error_message=error)
    return b


class BenchTable(ToolTest):
    def table(self, benchmarks):
        path = os.path.join(self.tmp, "b.json")
        with open(path, "w") as f:
            json.dump({"context": {"date": "d", "num_cpus": 2, "load_avg": [0.5]}, "benchmarks": benchmarks}, f)
        return run([tool("bench.sh"), "--table", path], timeout=30)

    def test_the_table_is_about_one_million_entries(self):
        r = self.table([bench("insert_u64/gomap/1000", 1), bench("insert_u64/gomap/1000000", 10),
                        bench("insert_u64/std/1000", 100), bench("insert_u64/std/1000000", 30)])
        self.assertEqual(r.returncode, 0, r.stderr)
        row = next(l for l in r.stdout.splitlines() if l.startswith("insert 1M u64"))
        self.assertEqual(row.split()[3:5], ["10.0", "30.0"])
        self.assertIn("3.00x", row)

    def test_a_wrong_result_is_a_finding(self):
        r = self.table([bench("erase_u64/gomap/1000000", error="checksum mismatch")])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("erase_u64/gomap/1000000: checksum mismatch", r.stdout)

    def test_an_unreadable_table_is_bad_input(self):
        self.assertOneLineError(run([tool("bench.sh"), "--table", os.path.join(self.tmp, "none.json")]))
        with open(os.path.join(self.tmp, "bad.json"), "w") as f:
            f.write("{")
        self.assertOneLineError(run([tool("bench.sh"), "--table", os.path.join(self.tmp, "bad.json")]))


if __name__ == "__main__":
    unittest.main()
