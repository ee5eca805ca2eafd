#!/bin/bash -eu
# Thin on purpose: everything is in the repository's ci/oss-fuzz-build.sh.
exec "$SRC/gomap/ci/oss-fuzz-build.sh"
