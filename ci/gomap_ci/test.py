"""ci/test.sh: the CI test job. For each preset (default: dev asan tsan)
configures, builds and runs ctest; the tsan preset runs only the tests
labelled tsan. Every preset is attempted even after a failure; a PASS/FAIL
summary follows.

Reports: build/reports/test.md, build/reports/test.json, and a JUnit file
per preset in build/reports/ctest-<preset>.xml.

Environment: GOMAP_TEST_PRESETS="dev" chooses the presets (or --presets);
GOMAP_JOBS=4 sets build and test parallelism (default 2).

Exit status: 0 every preset passed; 1 a test failed; 2 bad usage (an unknown
preset); 3 a configure or build failed.
"""
import json
import os
import subprocess
import sys
import time

from .common import (CLEAN, FINDING, ROOT, TOOL, USAGE, Fail, bootstrap, main_guard, parser, positive_int, say,
                     write_atomic, write_json)

PROG = "ci/test.sh"
DEFAULT_PRESETS = "dev asan tsan"


def test_presets():
    with open(os.path.join(ROOT, "CMakePresets.json")) as f:
        return [p["name"] for p in json.load(f)["testPresets"] if not p.get("hidden")]


def parse_args(argv):
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("--presets", default=os.environ.get("GOMAP_TEST_PRESETS", DEFAULT_PRESETS),
                   help="space-separated presets (default: $GOMAP_TEST_PRESETS or 'dev asan tsan')")
    p.add_argument("--jobs", type=positive_int(256), default=os.environ.get("GOMAP_JOBS", "2"),
                   help="build and test parallelism (default: $GOMAP_JOBS or 2)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    presets = a.presets.split()
    known = test_presets()
    bad = [p for p in presets if p not in known]
    if bad or not presets:
        raise Fail(USAGE, f"unknown preset(s) {' '.join(bad) or '(none given)'} (known: {' '.join(known)})")
    bootstrap(PROG)
    reports = os.path.join(ROOT, "build", "reports")
    os.makedirs(reports, exist_ok=True)
    results = []
    for p in presets:
        say("\n" + "=" * 66 + f"\n== preset: {p}\n" + "=" * 66)
        start = time.time()
        steps = [("configure", ["cmake", "--preset", p]),
                 ("build", ["cmake", "--build", "--preset", p, "-j", str(a.jobs)]),
                 ("test", ["ctest", "--preset", p, "-j", str(a.jobs), "--output-junit",
                           os.path.join(reports, f"ctest-{p}.xml")])]
        status = "PASS"
        for name, cmd in steps:
            say(f"-- [{p}] {name}")
            if subprocess.run(cmd, cwd=ROOT).returncode != 0:
                status = f"FAIL ({name})"
                break
        secs = round(time.time() - start)
        results.append({"preset": p, "result": status, "seconds": secs})
        say(f"-- [{p}] {status} ({secs}s)")
    ok = all(r["result"] == "PASS" for r in results)
    md = ["# ci/test.sh report", "", "| preset | result | seconds |", "| --- | --- | --- |"]
    md += [f"| {r['preset']} | {r['result']} | {r['seconds']} |" for r in results]
    write_atomic(os.path.join(reports, "test.md"), "\n".join(md) + "\n")
    write_json(os.path.join(reports, "test.json"), {"ok": ok, "presets": results})
    say("\n" + "=" * 66 + "\n== summary\n" + "=" * 66)
    for r in results:
        say(f"{r['preset']:<10} {r['result']} ({r['seconds']}s)")
    say(f"report: {reports}/test.md")
    if ok:
        return CLEAN
    if any(r["result"] in ("FAIL (configure)", "FAIL (build)") for r in results):
        return TOOL
    return FINDING


if __name__ == "__main__":
    main_guard(PROG, main)
