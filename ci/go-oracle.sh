#!/usr/bin/env bash
# Runs op programs on gomap and on the real Go 1.19 map in lockstep and says
# whether they agree (fuzz/go_oracle/README.md):
#   ci/go-oracle.sh [DIR|FILE...]
# `--help` for the details; the code is ci/gomap_ci/go_oracle.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" go_oracle "$@"
