#!/usr/bin/env bash
# Replays one artifact across the sanitizer matrix (dev, asan, and tsan for
# concurrent targets) and says which builds flag it:
#   ci/replay.sh [--target T] [--runs N] FILE
# `--help` for the details; the code is ci/gomap_ci/replay.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" replay "$@"
