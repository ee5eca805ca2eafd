#!/usr/bin/env bash
# Compiles the text seed programs (corpus/seeds/<target>/*.txt) into the binary
# corpus libFuzzer starts from (corpus/<target>/*.bin), with the one encoder:
#   corpus/build.sh [path/to/gomap-replay]
# Regenerate the text seeds first with corpus/make_seeds.py when it changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
replay=${1:-../build/dev/fuzz/gomap-replay}
[[ -x $replay ]] || { echo "corpus/build.sh: $replay not built (cmake --build --preset dev --target gomap-replay)" >&2; exit 2; }
n=0
for src in seeds/*/*.txt; do
  target=$(basename "$(dirname "$src")")
  mkdir -p "$target"
  out="$target/$(basename "${src%.txt}").bin"
  rm -f "$out.tmp"
  "$replay" --to-binary --out "$out.tmp" "$src" >/dev/null
  mv -f "$out.tmp" "$out"
  n=$((n + 1))
done
echo "corpus/build.sh: compiled $n seed programs"
