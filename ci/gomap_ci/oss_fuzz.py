"""ci/oss-fuzz-build.sh: build the fuzz targets the OSS-Fuzz /
ClusterFuzzLite way: compiler and flags from $CC/$CXX/$CFLAGS/$CXXFLAGS,
the fuzzing engine from $LIB_FUZZING_ENGINE, and for each target (the list
comes from the build's gomap-replay --list-targets, plus concurrent_sched:
libfuzzer.job_targets) the binary,
<target>.dict, <target>.options and <target>_seed_corpus.zip into $OUT.
Sources are left in place (coverage builds need them); the build tree is
$WORK/gomap-oss-fuzz-build (default /tmp).

Locally (no Docker needed) this mimics an ASan build:
  CC=clang-14 CXX=clang++-14 CXXFLAGS="-fsanitize=address,fuzzer-no-link" \\
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out ci/oss-fuzz-build.sh

Exit status: 0 built; 2 $OUT unset or not writable; 3 the build failed.
"""
import os
import shutil
import subprocess
import sys
import zipfile

from . import libfuzzer
from .common import CLEAN, ROOT, TOOL, USAGE, Fail, main_guard, parser, say, writable_dir

PROG = "ci/oss-fuzz-build.sh"


def parse_args(argv):
    return parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1]).parse_args(argv)


def main(argv=None):
    parse_args(sys.argv[1:] if argv is None else argv)
    env = os.environ
    if not env.get("OUT"):
        raise Fail(USAGE, "set OUT to the output folder (see --help)")
    out = writable_dir(os.path.abspath(env["OUT"]), "OUT")
    cc, cxx = env.get("CC", "clang"), env.get("CXX", "clang++")
    build = os.path.join(env.get("WORK", "/tmp"), "gomap-oss-fuzz-build")
    configure = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                 f"-DCMAKE_C_COMPILER={cc}", f"-DCMAKE_CXX_COMPILER={cxx}", f"-DCMAKE_CXX_FLAGS={env.get('CXXFLAGS', '')}",
                 f"-DCMAKE_C_FLAGS={env.get('CFLAGS', '')}", "-DGOMAP_BUILD_TESTS=OFF", "-DGOMAP_BUILD_PROPS=OFF",
                 "-DGOMAP_BUILD_FUZZ=ON", "-DGOMAP_FUZZ_ENGINE=libfuzzer",
                 f"-DGOMAP_FUZZ_LINK_FLAGS={env.get('LIB_FUZZING_ENGINE', '-fsanitize=fuzzer')}"]
    jobs = str(os.cpu_count() or 2)
    if subprocess.run(configure).returncode != 0:
        raise Fail(TOOL, "cmake configure failed")
    if subprocess.run(["cmake", "--build", build, "-j", jobs, "--target", "gomap-replay"]).returncode != 0:
        raise Fail(TOOL, "building gomap-replay failed")
    targets = libfuzzer.job_targets(os.path.join(build, "fuzz", "gomap-replay"))
    if subprocess.run(["cmake", "--build", build, "-j", jobs, "--target", *targets]).returncode != 0:
        raise Fail(TOOL, "building the fuzz targets failed")
    for t in targets:
        shutil.copy2(os.path.join(build, "fuzz", t), os.path.join(out, t))
        for ext in (".dict", ".options"):
            src = os.path.join(libfuzzer.CORPUS, t + ext)
            if os.path.exists(src):
                shutil.copy2(src, os.path.join(out, t + ext))
        seeds = os.path.join(libfuzzer.CORPUS, t)
        with zipfile.ZipFile(os.path.join(out, f"{t}_seed_corpus.zip"), "w") as z:
            for name in sorted(os.listdir(seeds)) if os.path.isdir(seeds) else []:
                z.write(os.path.join(seeds, name), name)
    say(f"oss-fuzz-build: {len(targets)} targets in {out}")
    return CLEAN


if __name__ == "__main__":
    main_guard(PROG, main)
