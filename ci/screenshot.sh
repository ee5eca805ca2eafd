#!/usr/bin/env bash
# Renders a nightly report.html in headless Chromium to a PNG:
#   ci/screenshot.sh REPORT.html [OUT.png]      (default OUT: next to the report)
# `--help` for the details; the code is ci/gomap_ci/screenshot.py.
exec env PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")${PYTHONPATH:+:$PYTHONPATH}" python3 -m gomap_ci.screenshot "$@"
