#!/usr/bin/env bash
# Renders a nightly report.html in headless Chromium and saves a PNG, to prove
# the report renders (and to look at it):
#   ci/screenshot.sh REPORT.html [OUT.png]      (default OUT: next to the report)
# Installs Debian's chromium through ci/bootstrap.sh. Exit 1 if no PNG results.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report=${1:?usage: ci/screenshot.sh REPORT.html [OUT.png]}
[[ -f $report ]] || { echo "ci/screenshot.sh: $report: no such file" >&2; exit 2; }
out=${2:-${report%.html}.png}
bash ci/bootstrap.sh chromium
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
# The flags keep Chromium off the network (this machine has none) and out of
# any existing profile.
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1200,1500 \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$report")" >/dev/null 2>&1 || true
[[ -s $out ]] || { echo "ci/screenshot.sh: chromium wrote no screenshot" >&2; exit 1; }
echo "ci/screenshot.sh: $out ($(stat -c %s "$out") bytes)"
