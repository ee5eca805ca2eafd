#!/usr/bin/env bash
# The nightly sanitizer job: the build matrix and ctest, fuzzing of every
# target (libFuzzer -fork), the TSan fuzz target, the properties, crash
# triage, engine coverage, the benchmark's scale curves (ci/bench.sh), and
# summary.md / report.json / report.html.
#   ci/nightly.sh [--budget-minutes N] [--jobs N] [--out DIR] [--props-cases N] [--merge] [--adopt] [--no-bench] [--canary NAME]
# `--help` for the details; the code is ci/gomap_ci/nightly.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" nightly "$@"
