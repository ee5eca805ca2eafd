#!/usr/bin/env bash
# The OSS-Fuzz / ClusterFuzzLite build ($CC, $CXX, $CXXFLAGS,
# $LIB_FUZZING_ENGINE, $OUT), called by .clusterfuzzlite/build.sh.
# `--help` for the details; the code is ci/gomap_ci/oss_fuzz.py.
exec "$(dirname "${BASH_SOURCE[0]}")/gomap_ci/run.sh" oss_fuzz "$@"
