#!/usr/bin/env bash
# The benchmark job: build and run gomap_bench (release preset) and print
# ns/op, std::unordered_map / X ratios and bytes/entry:
#   ci/bench.sh [--filter REGEX] [--out FILE] [--repetitions N] [--stat S] [-- BENCH_ARGS...]
#   ci/bench.sh --table FILE [--stat S]
# `--help` for the details; the code is ci/gomap_ci/bench.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" bench "$@"
