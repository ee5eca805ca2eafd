#!/usr/bin/env bash
# Proves the harness bites: for each canary (a bug planted with GOMAP_CANARY,
# listed at the top of engine/include/gomap/map.hpp), runs ci/fuzz.sh with it
# compiled in, records which target found it and after how many seconds, and
# replays the first crash twice with that build's gomap-replay to check the
# failure reproduces with identical output.
#
#   ci/canaries.sh [--seconds N] [--jobs N] [CANARY...]    (default: all, 60 s)
#   ci/canaries.sh --props [--budget N] [CANARY...]
#
# --props does the same for the RapidCheck properties (props/): builds them
# with the canary under ASan+UBSan (build/props-canary-asan-N), runs every property with
# max_success=N (default 2000) and a fixed seed, and reports which properties
# failed, the size of the shrunk counterexample, and the time to find it.
#
# Reports: fuzz-out/canaries/report.md, fuzz-out/canaries/props-report.md.
# Exit status 1 if a canary was not caught (or did not replay identically).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=60 jobs=1 props=0 budget=2000
canaries=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --props) props=1; shift ;;
    --budget) budget=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) canaries+=("$1"); shift ;;
  esac
done
if [[ ${#canaries[@]} -eq 0 ]]; then
  mapfile -t canaries < <(sed -n 's|^//   \([a-z-]*\) .*|\1|p' engine/include/gomap/map.hpp)
fi
out=fuzz-out/canaries
mkdir -p "$out"

if [[ $props -eq 1 ]]; then
  bash ci/bootstrap.sh
  report=$out/props-report.md
  {
    echo "# Property canary run ($(date -u +%Y-%m-%dT%H:%MZ)), max_success=$budget"
    echo
    echo "| canary | failing properties | smallest counterexample (ops) | seconds to first failure |"
    echo "| --- | --- | ---: | ---: |"
  } >"$report"
  failed=0
  for c in "${canaries[@]}"; do
    echo "== canary $c (props)"
    b=build/props-canary-asan-$c
    # asan: some planted bugs are memory errors that only a sanitizer sees.
    # A fresh directory: a cache left by another compiler would be wiped on
    # reconfigure, and the -D settings (the canary itself) with it.
    rm -rf "$b"
    cmake --preset asan -B "$b" -DGOMAP_CANARY="$c" >/dev/null && cmake --build "$b" -j2 --target gomap_props >/dev/null || {
      echo "   build failed"; failed=1; continue; }
    rm -rf "$b/props/failures"
    start=$(date +%s.%N)
    GOMAP_PROPS_FAILURES=$PWD/$b/props/failures RC_PARAMS="max_success=$budget seed=1" \
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1 \
      "$b/props/gomap_props" >"$out/$c.props.log" 2>&1
    end=$(date +%s.%N)
    names=$(grep -oE '^\[  FAILED  \] [A-Za-z]+\.[A-Za-z0-9]+ \(' "$out/$c.props.log" | sed 's/\[  FAILED  \] //; s/ (//' | sort -u | paste -sd' ' -)
    if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$out/$c.props.log"; then
      # a sanitizer stopped the process inside the property that was running
      running=$(grep -oE '^\[ RUN      \] [A-Za-z]+\.[A-Za-z0-9]+' "$out/$c.props.log" | tail -1 | sed 's/.*\] //')
      kind=$(grep -m1 -oE '(AddressSanitizer|LeakSanitizer): [a-z-]+|runtime error' "$out/$c.props.log")
      names="${names:+$names }$running ($kind)"
    fi
    first=$(grep -oE '^\[  FAILED  \] [A-Za-z]+\.[A-Za-z0-9]+ \([0-9]+ ms\)' "$out/$c.props.log" | grep -oE '[0-9]+ ms' | sort -n | head -1)
    smallest=""
    for f in "$b"/props/failures/*.txt; do
      [[ -f $f ]] || continue
      n=$(grep -cvE '^(#|target|domain|seed|hint|deep|$)' "$f")
      [[ -z $smallest || $n -lt $smallest ]] && smallest=$n
    done
    if [[ -n $names ]]; then
      echo "   failing: $names; smallest counterexample ${smallest:-?} ops; fastest failing property ${first:-?}"
      echo "| $c | $names | ${smallest:-?} | $(awk "BEGIN{print ${first%% ms}/1000}") |" >>"$report"
    else
      echo "   NOT CAUGHT"
      echo "| $c | none | - | - |" >>"$report"
      failed=1
    fi
  done
  echo
  cat "$report"
  exit $failed
fi

report=$out/report.md
{
  echo "# Canary run ($(date -u +%Y-%m-%dT%H:%MZ)), ${seconds}s per target, $jobs job(s)"
  echo
  echo "| canary | found by | seconds (that target) | replays identically |"
  echo "| --- | --- | ---: | --- |"
} >"$report"
failed=0
for c in "${canaries[@]}"; do
  echo "== canary $c"
  log=$out/$c.log
  bash ci/fuzz.sh --canary "$c" --seconds "$seconds" --jobs "$jobs" --out "$out/$c" >"$log" 2>&1
  run=$(ls -d "$out/$c"/2*/ 2>/dev/null | tail -1)
  found="" secs="" same="n/a"
  for row in "$run"*/row; do
    [[ -f $row ]] || continue
    IFS=$'\t' read -r name runs execs cov ft corp ncrash elapsed <"$row"
    if [[ $ncrash -gt 0 ]] && { [[ -z $secs ]] || [[ $elapsed -lt $secs ]]; }; then
      found=$name secs=$elapsed
    fi
  done
  if [[ -n $found ]]; then
    crash=$(head -1 "$run$found/crashes")
    replay=build/fuzz-canary-$c/fuzz/gomap-replay
    # Sanitizer reports carry the process id and, with ASLR, addresses: run
    # without ASLR and mask the pid, so that equal failures print equal text.
    for n in 1 2; do
      setarch "$(uname -m)" -R "$replay" --target "$found" "$crash" 2>&1 | sed -E 's/==[0-9]+==/==PID==/g' >"$out/$c.replay$n"
    done
    if cmp -s "$out/$c.replay1" "$out/$c.replay2" && grep -qE "FIRST DIVERGENCE|ERROR: AddressSanitizer|runtime error|gomap harness" "$out/$c.replay1"; then
      same=yes
    else
      same=NO; failed=1
    fi
    echo "   found by $found after ${secs}s; replays identically: $same ($crash)"
    echo "| $c | $found | $secs | $same |" >>"$report"
  else
    echo "   NOT FOUND"
    echo "| $c | not found | - | - |" >>"$report"
    failed=1
  fi
done
echo
cat "$report"
exit $failed
