#!/usr/bin/env bash
# Renders a nightly report.html in headless Chromium to a PNG:
#   ci/screenshot.sh REPORT.html [OUT.png]      (default OUT: next to the report)
# `--help` for the details; the code is ci/gomap_ci/screenshot.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" screenshot "$@"
