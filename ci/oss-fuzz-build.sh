#!/usr/bin/env bash
# Builds the fuzz targets the OSS-Fuzz / ClusterFuzzLite way: compiler and
# flags from $CC/$CXX/$CFLAGS/$CXXFLAGS, the fuzzing engine from
# $LIB_FUZZING_ENGINE, binaries plus <target>.dict, <target>.options and
# <target>_seed_corpus.zip into $OUT. Sources are left in place (coverage
# builds need them).
#
# Locally (no Docker needed) this mimics an ASan build:
#   CC=clang-14 CXX=clang++-14 CXXFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out SRC=$PWD/.. ci/oss-fuzz-build.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${OUT:?set OUT}" "${CXX:=clang++}" "${CC:=clang}" "${CXXFLAGS:=}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
build=${WORK:-/tmp}/gomap-oss-fuzz-build
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DGOMAP_BUILD_TESTS=OFF -DGOMAP_BUILD_PROPS=OFF -DGOMAP_BUILD_FUZZ=ON \
  -DGOMAP_FUZZ_ENGINE=libfuzzer -DGOMAP_FUZZ_LINK_FLAGS="$LIB_FUZZING_ENGINE"
targets=(map_u64 map_string map_double map_bigkey map_collide map_struct)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$OUT"
for t in "${targets[@]}"; do
  cp "$build/fuzz/$t" "$OUT/$t"
  cp "$root/corpus/$t.dict" "$OUT/$t.dict"
  cp "$root/corpus/$t.options" "$OUT/$t.options"
  (cd "$root/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
done
echo "oss-fuzz-build: ${#targets[@]} targets in $OUT"
