"""ci/bench.sh --table: the tables are at 1M and 8M entries of the scale
curve (<workload>/<map>/<n>), Go's JSON joins them, a benchmark's error or a
checksum that differs between maps is exit 1, an unreadable file exit 2."""
import json
import os
import unittest

from support import ToolTest, run, tool


def bench(name, ns=None, error=None, checksum=None):
    b = {"name": name, "run_name": name, "run_type": "iteration"}
    if ns is not None:
        b["ns_per_op"] = ns
    if checksum is not None:
        b["label"] = f"checksum={checksum}"
    if error:
        b.update(error_occurred=True, error_message=error)
    return b


class BenchTable(ToolTest):
    def table(self, benchmarks, go=None):
        path = os.path.join(self.tmp, "b.json")
        with open(path, "w") as f:
            json.dump({"context": {"date": "d", "num_cpus": 2, "load_avg": [0.5]}, "benchmarks": benchmarks}, f)
        cmd = [tool("bench.sh"), "--table", path]
        if go is not None:
            with open(os.path.join(self.tmp, "g.json"), "w") as f:
                json.dump({"map": "go", "workloads": go}, f)
            cmd += ["--go-table", os.path.join(self.tmp, "g.json")]
        return run(cmd, timeout=30)

    def test_the_table_is_about_one_million_entries(self):
        r = self.table([bench("insert_u64/gomap/1000", 1), bench("insert_u64/gomap/1000000", 10),
                        bench("insert_u64/std/1000", 100), bench("insert_u64/std/1000000", 30)])
        self.assertEqual(r.returncode, 0, r.stderr)
        row = next(l for l in r.stdout.splitlines() if l.startswith("insert_u64"))
        self.assertEqual(row.split()[1:3], ["10.0", "30.0"])
        self.assertIn("3.00x", row)

    def test_go_joins_the_table_with_its_goals(self):
        r = self.table([bench("lookup_hit_u64/gomap/1000000", 10, checksum=7),
                        bench("lookup_hit_u64/boost/1000000", 5, checksum=7)],
                       go={"lookup_hit_u64": {"1000000": {"ns_per_op": 20, "checksum": "7"}},
                           "bytes_per_entry": {"1000000": {"bytes_per_entry": 40.0, "checksum": "1000000"}}})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = next(l for l in r.stdout.splitlines() if l.startswith("lookup_hit_u64"))
        self.assertIn("2.00x", row)  # go / gomap
        self.assertIn("PASS go>=1.5x", row)
        self.assertIn("FAIL boost<=1.5x", row)  # boost takes half gomap's time: more than 1.5x faster
        bytes_row = next(l for l in r.stdout.splitlines() if l.startswith("bytes/entry"))
        self.assertNotIn("<= go", bytes_row)  # no gomap figure: no verdict

    def test_a_checksum_that_differs_from_go_is_a_finding(self):
        r = self.table([bench("insert_u64/gomap/1000000", 10, checksum=1000000)],
                       go={"insert_u64": {"1000000": {"ns_per_op": 20, "checksum": "999999"}}})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("insert_u64 at 1000000: checksums differ between maps", r.stdout)

    def test_a_wrong_result_is_a_finding(self):
        r = self.table([bench("erase_u64/gomap/1000000", error="checksum mismatch")])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("erase_u64/gomap/1000000: checksum mismatch", r.stdout)

    def test_a_table_that_measured_nothing_is_not_clean(self):
        self.assertOneLineError(self.table([]))
        self.assertOneLineError(self.table([bench("insert_u64/gomap/1000000", error=None)]))

    def test_an_unreadable_table_is_bad_input(self):
        self.assertOneLineError(run([tool("bench.sh"), "--table", os.path.join(self.tmp, "none.json")]))
        with open(os.path.join(self.tmp, "bad.json"), "w") as f:
            f.write("{")
        self.assertOneLineError(run([tool("bench.sh"), "--table", os.path.join(self.tmp, "bad.json")]))


if __name__ == "__main__":
    unittest.main()
