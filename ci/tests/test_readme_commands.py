"""The copy-pasteable commands of README.md, ci/README.md and fuzz/README.md
(their fenced ```sh blocks; a template with placeholders goes in a ```text
block instead) are valid as written on this checkout, checked without
running anything long:
- no argument is a placeholder (an all-capitals word such as CRASHFILE, or a
  path with one): a copy-pasted command must not need editing;
- `ci/<tool>.sh ARGS`: ARGS parse with the tool's own argument parser (the
  module the .sh execs), so every flag and value is valid as written;
- `cmake --preset P`, `cmake --build --preset P`, `ctest --preset P`: P is a
  configure, build or test preset of CMakePresets.json, and every `-DNAME=`
  is CMake's own or an option/cache variable of the tree;
- `build/<preset>/<dir>/<program> ...`: the preset exists and the program is
  a target of the tree (fuzz/targets/<t>.cpp, <t>_replay, gomap-replay);
- anything else: the program exists (in the repository or on PATH).
test_readme_run.py runs them for real in a fresh clone. Also checked: the
README's "short default budget" of ci/fuzz.sh fits in about two minutes.
"""
import importlib
import json
import os
import re
import shlex
import shutil
import unittest

from support import ROOT, ToolTest

from gomap_ci import fuzz, libfuzzer

DOCS = ("README.md", "ci/README.md", "fuzz/README.md")
FENCE = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)


def command_lines(doc, root=ROOT):
    """(line number, text) of each shell line of the doc's ```sh blocks, as a
    shell reads it: `\\` continuations joined, comment-only and blank lines
    dropped."""
    with open(os.path.join(root, doc)) as f:
        text = f.read()
    out = []
    for m in FENCE.finditer(text):
        line = text[:m.start()].count("\n") + 2
        for cmd in m.group(1).replace("\\\n", " ").splitlines():
            if shlex.split(cmd, comments=True):
                out.append((line, cmd))
            line += 1
    return out


def split_line(cmd):
    """The argv of each command of one shell line: `&&` chains split,
    comments dropped, leading VAR=value assignments (its environment) left
    out."""
    out = []
    words = shlex.split(cmd, comments=True)
    while words:
        cut = words.index("&&") if "&&" in words else len(words)
        argv = words[:cut]
        while argv and re.match(r"^[A-Z_]+=", argv[0]):
            argv = argv[1:]
        if argv:
            out.append(argv)
        words = words[cut + 1:]
    return out


def commands(doc, root=ROOT):
    """(line number, argv) of each command in the doc's ```sh blocks."""
    return [(line, argv) for line, cmd in command_lines(doc, root) for argv in split_line(cmd)]


PLACEHOLDER = re.compile(r"(?:^|[/=])[A-Z][A-Z0-9_]{2,}(?:\.\w+)?$")


def presets(kind):
    with open(os.path.join(ROOT, "CMakePresets.json")) as f:
        return {p["name"] for p in json.load(f)[kind] if not p.get("hidden")}


def known_variable(name):
    """A -D variable means something: CMake's own, or an option()/CACHE
    variable of one of the tree's CMakeLists.txt."""
    if name.startswith("CMAKE_"):
        return True
    rx = re.compile(r"(?:option\(\s*|set\(\s*)" + re.escape(name) + r"\b[^)]*(?:CACHE|\))")
    for folder, _, files in os.walk(ROOT):
        if "/build" in folder[len(ROOT):] or "/.git" in folder[len(ROOT):]:
            continue
        if "CMakeLists.txt" in files:
            with open(os.path.join(folder, "CMakeLists.txt")) as f:
                if rx.search(f.read()):
                    return True
    return False


def module_of(script):
    with open(os.path.join(ROOT, script)) as f:
        m = re.search(r"gomap_ci/run.sh\" (\w+)", f.read())
    return importlib.import_module("gomap_ci." + m.group(1)) if m else None


def check(argv):
    """None if the command is valid as written, else why not."""
    prog, args = argv[0], argv[1:]
    for word in args:
        if PLACEHOLDER.search(word):
            return f"{word} is a placeholder: a ```sh command must run as written (templates go in ```text)"
    if re.match(r"^ci/[\w-]+\.sh$", prog):
        if not os.path.exists(os.path.join(ROOT, prog)):
            return f"{prog} does not exist"
        mod = module_of(prog)
        if mod is None:
            return None if prog in ("ci/bootstrap.sh", "ci/canaries.sh") else f"{prog} has no gomap_ci module"
        try:
            mod.parse_args(args)
        except SystemExit as e:
            return None if e.code == 0 else f"{prog} rejects {args}"
        return None
    unknown = [d for d in args if d.startswith("-D") and not known_variable(d[2:].split("=")[0].split(":")[0])]
    if prog == "cmake" and unknown:
        return f"cmake: no cache variable {unknown[0]}"
    if prog in ("cmake", "ctest") and "--preset" in args:
        name = args[args.index("--preset") + 1]
        kind = ("testPresets" if prog == "ctest" else "buildPresets" if "--build" in args else "configurePresets")
        return None if name in presets(kind) else f"no {kind[:-1]} {name}"
    if prog.startswith("build/"):
        parts = prog.split("/")
        if parts[1] not in presets("configurePresets"):
            return f"{prog}: no preset {parts[1]}"
        targets = libfuzzer.program_targets()
        known = set(targets) | {t + "_replay" for t in targets} | {"gomap-replay"}
        return None if parts[-1] in known else f"{prog}: {parts[-1]} is not a program of the tree"
    if os.path.exists(os.path.join(ROOT, prog)) or shutil.which(prog):
        return None
    return f"{prog}: no such program"


class ReadmeCommands(ToolTest):
    def test_every_command_is_valid_as_written(self):
        seen = 0
        for doc in DOCS:
            for line, argv in commands(doc):
                seen += 1
                with self.subTest(doc=f"{doc}:{line}", cmd=shlex.join(argv)):
                    self.assertIsNone(check(argv))
        self.assertGreater(seen, 3)

    def test_the_checker_rejects_what_is_wrong(self):
        for argv in (["ci/fuzz.sh", "--second", "5"], ["ci/fuzz.sh", "--seconds"], ["cmake", "--preset", "nope"],
                     ["cmake", "--preset", "dev", "-DGOMAP_NO_SUCH_OPTION=1"],
                     ["build/dev/fuzz/map_nope"], ["ci/nope.sh"], ["no-such-program-xyz"],
                     ["build/dev/fuzz/gomap-replay", "CRASHFILE"],
                     ["build/dev/fuzz/gomap-replay", "--out", "corpus/regressions/map_u64/NAME.txt", "x"],
                     ["build/fuzz/fuzz/map_u64", "-exact_artifact_path=CRASH_FILE"]):
            with self.subTest(argv=argv):
                self.assertIsNotNone(check(argv))

    def test_the_default_fuzz_budget_is_short(self):
        # every target ships an .options file; they run --jobs at a time
        n = sum(1 for f in os.listdir(libfuzzer.CORPUS) if f.endswith(".options"))
        rounds = -(-n // fuzz.DEFAULT_JOBS)
        self.assertLessEqual(rounds * fuzz.DEFAULT_SECONDS, 120)


if __name__ == "__main__":
    unittest.main()
