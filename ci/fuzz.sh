#!/usr/bin/env bash
# The main job: build every libFuzzer target (ASan+UBSan) and fuzz each on its
# shipped corpus for a short budget, then print a summary table.
#
#   ci/fuzz.sh [--seconds N] [--target T]... [--jobs N] [--out DIR] [--merge] [--canary NAME]
#
#   --seconds N  fuzzing time per target (default 60)
#   --target T   only this target (repeatable; default: all)
#   --jobs N     targets fuzzed at the same time (default 1; one core each)
#   --out DIR    where runs go (default fuzz-out/); a run writes DIR/<stamp>/
#   --merge      afterwards, merge new coverage into the shipped corpus/<target>/
#                with libFuzzer -merge=1 (the shipped corpus changes only then)
#   --canary N   build with a planted engine bug (GOMAP_CANARY=N, see fuzz/README.md)
#                in build/fuzz-canary-N, to prove the targets find it
#
# New inputs go to DIR/<stamp>/<target>/corpus, never to corpus/. Crashes go to
# DIR/crashes/<target>/ with the run's stamp in their names, so nothing is ever
# overwritten. The table gives each crash's exact replay command. Reports:
# DIR/<stamp>/report.md and report.json. Exit status 1 if anything crashed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

seconds=60 jobs=1 out=fuzz-out merge=0 canary=""
targets=()
all_targets=(map_u64 map_string map_double map_bigkey map_collide map_struct)
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    --canary) canary=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "ci/fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "ci/fuzz.sh: --seconds needs a positive integer" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "ci/fuzz.sh: --jobs needs a positive integer" >&2; exit 2; }
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "ci/fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
done

[[ -z $canary || $merge -eq 0 ]] || { echo "ci/fuzz.sh: --merge with --canary would merge a buggy engine's corpus" >&2; exit 2; }
bash ci/bootstrap.sh
if [[ -z $canary ]]; then
  echo "== building the fuzz preset (clang-14, libFuzzer, ASan+UBSan)"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j2 >/dev/null
  bin=$root/build/fuzz/fuzz
else
  echo "== building the fuzz preset with canary '$canary' in build/fuzz-canary-$canary"
  cmake --preset fuzz -B "build/fuzz-canary-$canary" -DGOMAP_CANARY="$canary" >/dev/null
  cmake --build "build/fuzz-canary-$canary" -j2 >/dev/null
  bin=$root/build/fuzz-canary-$canary/fuzz
fi
replay=$bin/gomap-replay

mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
run=$out/$stamp
mkdir -p "$run"
# Leaks and every sanitizer error are findings; keep stack collection cheap.
export ASAN_OPTIONS=${GOMAP_FUZZ_ASAN_OPTIONS:-detect_leaks=1:malloc_context_size=8:abort_on_error=1}
export UBSAN_OPTIONS=${GOMAP_FUZZ_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# libFuzzer flags from corpus/<t>.options ([libfuzzer] key = value).
options_flags() {
  local t=$1 f=$root/corpus/$t.options key value
  [[ -f $f ]] || return 0
  while IFS='=' read -r key value; do
    key=$(echo "$key" | tr -d ' \t\r'); value=$(echo "$value" | tr -d ' \t\r')
    [[ -z $key || $key == \[* || $key == \#* ]] && continue
    [[ $key == dict ]] && value=$root/corpus/$value
    printf -- '-%s=%s\n' "$key" "$value"
  done <"$f"
}

fuzz_target() {
  local t=$1 dir=$run/$1
  local crashes=$out/crashes/$t
  mkdir -p "$dir/corpus" "$crashes"
  mapfile -t flags < <(options_flags "$t")
  local status=0 started=$SECONDS
  timeout --signal=KILL $((seconds + 120)) "$bin/$t" "${flags[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$crashes/$stamp-" "$dir/corpus" "$root/corpus/$t" >"$dir/fuzz.log" 2>&1 || status=$?
  echo "$status" >"$dir/status"
  local elapsed=$((SECONDS - started))
  local runs execs cov ft corp ncrash
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/fuzz.log" | grep -o '[0-9]*$' || true)
  execs=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$dir/fuzz.log" | grep -o '[0-9]*$' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/fuzz.log" | tail -1 | grep -oE '[0-9]+' || true)
  ft=$(grep -oE 'ft: [0-9]+' "$dir/fuzz.log" | tail -1 | grep -oE '[0-9]+' || true)
  corp=$(( $(find "$dir/corpus" -type f | wc -l) + $(find "$root/corpus/$t" -type f | wc -l) ))
  find "$crashes" -maxdepth 1 -type f -name "$stamp-*" | sort >"$dir/crashes"
  ncrash=$(wc -l <"$dir/crashes")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${runs:-0}" "${execs:-0}" "${cov:-0}" "${ft:-0}" "$corp" "$ncrash" "$elapsed" >"$dir/row"
  printf '   [%s] done: %s runs, %s exec/s, cov %s ft %s, corpus %s, %s crash(es)%s\n' "$t" "${runs:-0}" "${execs:-0}" \
    "${cov:-0}" "${ft:-0}" "$corp" "$ncrash" "$([[ $status -ne 0 && $ncrash -eq 0 ]] && echo ", exit $status (see $dir/fuzz.log)")"
}

echo "== fuzzing ${#targets[@]} target(s), ${seconds}s each, $jobs at a time; run dir $run"
i=0
for t in "${targets[@]}"; do
  i=$((i + 1))
  echo "-- [$i/${#targets[@]}] $t: fuzzing for ${seconds}s"
  fuzz_target "$t" &
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
done
wait

if [[ $merge -eq 1 ]]; then
  for t in "${targets[@]}"; do
    mapfile -t flags < <(options_flags "$t")
    before=$(find "corpus/$t" -type f | wc -l)
    "$bin/$t" "${flags[@]}" -merge=1 "corpus/$t" "$run/$t/corpus" >"$run/$t/merge.log" 2>&1 || true
    echo "-- merged $t: corpus/$t $before -> $(find "corpus/$t" -type f | wc -l) files"
  done
fi

# ---- summary table and reports
total_crashes=0
{
  echo "# gomap fuzz run $stamp"
  echo
  echo "${seconds}s per target. ASan+UBSan+LSan. Crash dir: \`$out/crashes/\`."
  echo
  echo "| target | runs | exec/s | cov | ft | corpus | crashes | seconds |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for t in "${targets[@]}"; do
    IFS=$'\t' read -r name runs execs cov ft corp ncrash secs <"$run/$t/row"
    echo "| $name | $runs | $execs | $cov | $ft | $corp | $ncrash | $secs |"
  done
} >"$run/report.md"
{
  echo "{\"stamp\": \"$stamp\", \"seconds\": $seconds, \"canary\": \"$canary\", \"targets\": ["
  sep=""
  for t in "${targets[@]}"; do
    IFS=$'\t' read -r name runs execs cov ft corp ncrash secs <"$run/$t/row"
    crashes_json=$(sed 's/.*/"&"/' "$run/$t/crashes" | paste -sd, -)
    printf '%s{"target": "%s", "runs": %s, "exec_per_sec": %s, "cov": %s, "ft": %s, "corpus": %s, "crashes": [%s], "exit": %s, "seconds": %s}\n' \
      "$sep" "$name" "$runs" "$execs" "$cov" "$ft" "$corp" "$crashes_json" "$(cat "$run/$t/status")" "$secs"
    sep=","
  done
  echo "]}"
} >"$run/report.json"

echo
echo "== state coverage (engine states of fuzz/README.md first reached, seconds): $run/state_coverage.md"
python3 "$root/ci/state_coverage.py" --replay "$replay" "$run" "${targets[@]}" || echo "   (state coverage table not written)"
echo
echo "== summary ($run)"
printf '%-12s %10s %8s %6s %7s %7s %8s %8s\n' target runs exec/s cov ft corpus crashes seconds
for t in "${targets[@]}"; do
  IFS=$'\t' read -r name runs execs cov ft corp ncrash secs <"$run/$t/row"
  printf '%-12s %10s %8s %6s %7s %7s %8s %8s\n' "$name" "$runs" "$execs" "$cov" "$ft" "$corp" "$ncrash" "$secs"
  total_crashes=$((total_crashes + ncrash))
done
if [[ $total_crashes -gt 0 ]]; then
  echo
  echo "== crashes (replay each with the command shown; add --to-text --out FILE to keep it as a regression)"
  for t in "${targets[@]}"; do
    while read -r f; do
      [[ -n $f ]] || continue
      echo "  $t: $replay --target $t $f"
      echo "- \`$replay --target $t $f\`" >>"$run/report.md"
    done <"$run/$t/crashes"
  done
  exit 1
fi
echo "no crashes"
