#!/usr/bin/env bash
# Replays one artifact (crash file, corpus entry or text regression) across
# the sanitizer matrix and says which builds flag it:
#   plain (dev, g++), asan (ASan+UBSan+LSan), and tsan for concurrent targets.
#
#   ci/replay.sh [--target T] FILE
#
# Builds gomap-replay in each preset if needed. Exit status 1 if any build
# flags the input, 0 if none does, 2 on bad usage.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target_args=()
file=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --target) target_args=(--target "$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) [[ -z $file ]] || { echo "ci/replay.sh: one file at a time" >&2; exit 2; }; file=$1; shift ;;
  esac
done
[[ -n $file ]] || { echo "usage: ci/replay.sh [--target T] FILE" >&2; exit 2; }
[[ -f $file ]] || { echo "ci/replay.sh: $file: no such file" >&2; exit 2; }
bash ci/bootstrap.sh

matrix=(dev asan)
target=${target_args[1]:-}
if [[ $target == concurrent_* ]] || [[ $file == *concurrent_* ]]; then matrix+=(tsan); fi
flagged=0
for p in "${matrix[@]}"; do
  cmake --preset "$p" >/dev/null 2>&1 && cmake --build --preset "$p" -j2 --target gomap-replay >/dev/null 2>&1 || {
    echo "[$p] could not build gomap-replay"; flagged=1; continue; }
  out=$(mktemp)
  build/$p/fuzz/gomap-replay --quiet "${target_args[@]}" "$file" >"$out" 2>&1
  status=$?
  case $status in
    0) echo "[$p] clean" ;;
    2) echo "[$p] cannot read the input: $(grep -m1 'error:' "$out")"; flagged=1 ;;
    *) why=$(grep -m1 -E 'rule:|ERROR: [A-Za-z]+Sanitizer|runtime error|fatal error|gomap harness' "$out" | sed 's/^ *//')
       echo "[$p] FLAGGED (exit $status): ${why:-see output}"; flagged=1 ;;
  esac
  rm -f "$out"
done
exit $flagged
