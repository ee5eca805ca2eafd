#!/usr/bin/env bash
# The README's main command: build every libFuzzer target (ASan+UBSan) and fuzz
# each on its shipped corpus for a short budget (30 s, two at a time), with
# progress lines, a summary table and a next-step line. `ci/fuzz.sh --help`
# lists the flags; the code is ci/gomap_ci/fuzz.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" fuzz "$@"
