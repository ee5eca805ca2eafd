#!/usr/bin/env bash
# Compiles the text seed programs (corpus/seeds/<target>/*.txt) into the binary
# corpus libFuzzer starts from (corpus/<target>/*.bin) with the one encoder,
# and writes each target's libFuzzer dictionary and options file
# (corpus/<target>.dict from the op table, `gomap-replay --dict`;
# corpus/<target>.options, `gomap-replay --options`). The targets come from the registry
# (`gomap-replay --list-targets`). See corpus/README.md.
usage() {
  cat <<'USAGE'
usage: corpus/build.sh [--help] [PATH/TO/gomap-replay]

Compiles corpus/seeds/<target>/*.txt into corpus/<target>/*.bin and writes
corpus/<target>.dict and corpus/<target>.options, for every target
`gomap-replay --list-targets` prints.
Regenerate the text seeds first with corpus/make_seeds.py when it changes.
The default gomap-replay is build/dev/fuzz/gomap-replay; a relative path is
taken from the current directory.
Exit status: 0 done; 2 bad usage, or seeds that do not match the registry;
3 gomap-replay missing or failing, or a write failed.
USAGE
}
set -euo pipefail
replay=
case $# in
  0) ;;
  1) case $1 in
       -h|--help) usage; exit 0 ;;
       -*) echo "corpus/build.sh: error: unknown option '$1' (see --help)" >&2; exit 2 ;;
       *) replay=$1 ;;
     esac ;;
  *) echo "corpus/build.sh: error: takes at most one argument, the gomap-replay binary (see --help)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -z $replay ]]; then
  replay=$here/../build/dev/fuzz/gomap-replay
elif [[ $replay != /* ]]; then
  replay=$PWD/${replay#./}
fi
[[ -x $replay && -f $replay ]] || { echo "corpus/build.sh: error: $replay is not an executable file (build it: cmake --build --preset dev --target gomap-replay)" >&2; exit 3; }
cd "$here"
targets=$("$replay" --list-targets | cut -f1) || { echo "corpus/build.sh: error: $replay --list-targets failed" >&2; exit 3; }
[[ -n $targets ]] || { echo "corpus/build.sh: error: $replay --list-targets listed no target" >&2; exit 3; }
# Seeds of a target outside the map registry (concurrent_sched: its text
# names its target) are compiled the same way.
for dir in seeds/*/; do
  t=$(basename "$dir")
  if ! grep -qx -- "$t" <<<"$targets"; then
    [[ -f ../fuzz/targets/$t.cpp ]] || { echo "corpus/build.sh: error: seeds/$t is not a fuzz target (gomap-replay --list-targets, fuzz/targets/)" >&2; exit 2; }
    targets+=$'\n'"$t"
  fi
done
n=0
for target in $targets; do
  srcs=(seeds/"$target"/*.txt)
  [[ -e ${srcs[0]} ]] || { echo "corpus/build.sh: error: no seeds for $target in corpus/seeds/$target (run corpus/make_seeds.py)" >&2; exit 2; }
  mkdir -p "$target" || { echo "corpus/build.sh: error: cannot create corpus/$target" >&2; exit 3; }
  for src in "${srcs[@]}"; do
    out="$target/$(basename "${src%.txt}").bin"
    rm -f "$out.tmp"
    "$replay" --to-binary --out "$out.tmp" "$src" >/dev/null || { echo "corpus/build.sh: error: cannot compile $src (see above)" >&2; exit 2; }
    mv -f "$out.tmp" "$out" || { echo "corpus/build.sh: error: cannot write $out" >&2; exit 3; }
    n=$((n + 1))
  done
  for kind in dict options; do
    "$replay" --$kind "$target" >"$target.$kind.tmp" || { echo "corpus/build.sh: error: cannot write $target.$kind" >&2; rm -f "$target.$kind.tmp"; exit 3; }
    mv -f "$target.$kind.tmp" "$target.$kind" || { echo "corpus/build.sh: error: cannot write $target.$kind" >&2; exit 3; }
  done
done
echo "corpus/build.sh: compiled $n seed programs and wrote the dictionaries and options"
