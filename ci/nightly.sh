#!/usr/bin/env bash
# The nightly sanitizer job: the matrix (asan, tsan, fuzz, coverage), fuzzing
# of every target with libFuzzer -fork, the TSan fuzz target and stress tests,
# the properties with a large budget, crash triage, engine coverage, and a
# report (summary.md, report.json, report.html with plots over past nights).
#
#   ci/nightly.sh [--budget-minutes N] [--jobs N] [--out DIR] [--props-cases N] [--merge] [--adopt]
#
#   --budget-minutes N  total fuzzing time, split across the targets (default 30)
#   --jobs N            build jobs and libFuzzer -fork workers (default: cores)
#   --out DIR           reports go to DIR/<stamp>/ (default nightly-out/); DIR/history.jsonl
#                       collects one line per night for the plots
#   --merge             write new coverage back into corpus/<target>/ (libFuzzer -merge=1)
#   --adopt             copy candidate regressions into corpus/regressions/<target>/
#   --canary NAME       a fuzz-only night with a planted engine bug (GOMAP_CANARY), to see
#                       triage and reporting work end to end
#
# Exit status: 0 clean, 1 a finding or a failed step, 2 bad usage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/bootstrap.sh
exec python3 ci/nightly.py "$@"
