#!/usr/bin/env bash
# Proves the harness bites: applies each canary (a known bug, ci/canaries/*.patch)
# to a fresh copy of the tree, builds it there and runs the checks that should
# catch it (fuzzing, or the properties with --props; the TSan tests and the
# fuzz-tsan target for concurrent canaries), and reports which check caught
# each canary and when, in fuzz-out/canaries/report.md and report.json.
#
#   ci/canaries.sh [--seconds N] [--jobs N] [CANARY...]    (default: all, 60 s)
#   ci/canaries.sh --props [--budget N] [CANARY...]        (props-report.md/.json)
#
# `ci/canaries.sh --help` for details; the code is ci/gomap_ci/canaries_cli.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" canaries_cli "$@"
