#!/usr/bin/env bash
# The CI test job: configure, build and ctest each preset (default dev asan
# tsan), then a summary. `ci/test.sh --help` for the details; the code is
# ci/gomap_ci/test.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" test "$@"
