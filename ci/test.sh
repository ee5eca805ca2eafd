#!/usr/bin/env bash
# Installs dependencies, then configures, builds and tests gomap under each preset
# (default: dev asan tsan). Every preset is attempted even after a failure; a summary
# follows and the exit status is non-zero if any preset failed.
#
#   ci/test.sh
#   GOMAP_TEST_PRESETS="dev" ci/test.sh      # choose the presets
#   GOMAP_JOBS=4 ci/test.sh                  # build/test parallelism (default 2)
#
# Reports: build/reports/test.md, build/reports/test.json, and a JUnit file per
# preset in build/reports/ctest-<preset>.xml.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

bash ci/bootstrap.sh

read -r -a presets <<<"${GOMAP_TEST_PRESETS:-dev asan tsan}"
jobs=${GOMAP_JOBS:-2}
reports=$root/build/reports
mkdir -p "$reports"

declare -A result seconds
failed=0

for p in "${presets[@]}"; do
  echo
  echo "=================================================================="
  echo "== preset: $p"
  echo "=================================================================="
  start=$SECONDS
  status=PASS
  echo "-- [$p] configure"
  if ! cmake --preset "$p"; then
    status="FAIL (configure)"
  else
    echo "-- [$p] build"
    if ! cmake --build --preset "$p" -j"$jobs"; then
      status="FAIL (build)"
    else
      echo "-- [$p] test"
      if ! ctest --preset "$p" -j"$jobs" --output-junit "$reports/ctest-$p.xml"; then
        status="FAIL (test)"
      fi
    fi
  fi
  result[$p]=$status
  seconds[$p]=$((SECONDS - start))
  [[ $status == PASS ]] || failed=1
  echo "-- [$p] $status (${seconds[$p]}s)"
done

{
  echo "# ci/test.sh report"
  echo
  echo "| preset | result | seconds |"
  echo "| --- | --- | --- |"
  for p in "${presets[@]}"; do
    echo "| $p | ${result[$p]} | ${seconds[$p]} |"
  done
} >"$reports/test.md"
{
  echo "{"
  echo "  \"ok\": $([[ $failed -eq 0 ]] && echo true || echo false),"
  echo "  \"presets\": ["
  n=${#presets[@]}; i=0
  for p in "${presets[@]}"; do
    i=$((i + 1)); sep=","; [[ $i -eq $n ]] && sep=""
    echo "    {\"preset\": \"$p\", \"result\": \"${result[$p]}\", \"seconds\": ${seconds[$p]}}$sep"
  done
  echo "  ]"
  echo "}"
} >"$reports/test.json"

echo
echo "=================================================================="
echo "== summary"
echo "=================================================================="
for p in "${presets[@]}"; do
  printf '%-10s %s (%ss)\n' "$p" "${result[$p]}" "${seconds[$p]}"
done
echo "report: $reports/test.md"
exit "$failed"
