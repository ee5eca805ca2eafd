"""Canaries: known bugs planted in a copy of the tree, to prove the checks bite.

This module is the one place canaries are known. Each canary is a patch,
ci/canaries/<name>.patch, made with `git diff` against the clean tree and
applied with `git apply` from the repository root. The text before its first
`diff --git` line (which git apply ignores) is a header of `Key: value` lines,
a value may continue on lines that start with a space:

    Canary: growth-off-by-one
    Breaks: what the patch breaks
    Caught-by: which check, target or property should catch it
    Kind: single | concurrent      (concurrent: the SyncMap/ShardedMap ones,
                                    caught by the TSan tests and fuzz target)

The engine itself carries no trace of them (engine/README.md, "Canaries").
The tools take them with the same flags (add_arguments: --canary NAME,
--list-canaries; an unknown name is bad usage, exit 2); ci/canaries.sh
(canaries_cli) proves each one is caught.

    python3 -m gomap_ci.canary list     one canary per line: name<TAB>kind
    python3 -m gomap_ci.canary check    git apply --check for every patch;
                                        exit 1 naming those that fail
    python3 -m gomap_ci.canary refresh [NAME...]
                                        rewrites each patch's body as an exact
                                        git diff against the current tree (after
                                        the tree moved and the patch still applies
                                        with an offset); the header is kept
(run from ci/, or with PYTHONPATH=ci). Exit codes: 0 clean, 1 a patch does
not apply, 2 bad usage, 3 not a git checkout or git missing.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys

from .common import TOOL, USAGE, Fail

ROOT = pathlib.Path(__file__).resolve().parents[2]
KINDS = ("single", "concurrent")
_FIELDS = {"canary": "name", "breaks": "breaks", "caught-by": "caught_by", "kind": "kind"}


class UnknownCanary(ValueError):
    """A name that is not one of ci/canaries/*.patch; the message is one line."""

    def __init__(self, name, root=None):
        super().__init__(f"unknown canary '{name}' (known: {', '.join(names(root))})")
        self.name = name


class PatchDoesNotApply(RuntimeError):
    """A canary's patch no longer applies to the tree (the message says why, in one line)."""


def _root(root):
    return pathlib.Path(root).resolve() if root is not None else ROOT


def patch_dir(root=None):
    return _root(root) / "ci" / "canaries"


def names(root=None):
    """The canary names, sorted: one per ci/canaries/*.patch."""
    return sorted(p.name[: -len(".patch")] for p in patch_dir(root).glob("*.patch"))


def patch_path(name, root=None):
    """The patch file of a known canary; UnknownCanary otherwise."""
    if name not in names(root):
        raise UnknownCanary(name, root)
    return patch_dir(root) / f"{name}.patch"


def describe(name, root=None):
    """{name, breaks, caught_by, kind} from the patch's header."""
    info, key = {}, None
    with open(patch_path(name, root), encoding="utf-8") as f:
        for line in f:
            if line.startswith("diff --git"):
                break
            if line[:1] in (" ", "\t") and key:
                info[key] += " " + line.strip()
                continue
            k, sep, v = line.partition(":")
            key = _FIELDS.get(k.strip().lower()) if sep else None
            if key:
                info[key] = v.strip()
    info["name"] = name
    missing = [k for k in ("breaks", "caught_by", "kind") if not info.get(k)]
    if missing or info["kind"] not in KINDS:
        raise ValueError(f"ci/canaries/{name}.patch: header lacks {', '.join(missing) or 'a Kind of ' + ' or '.join(KINDS)}")
    return {k: info[k] for k in ("name", "breaks", "caught_by", "kind")}


def _git(args, cwd, check=True, env=None):
    try:
        r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise RuntimeError("git is not installed") from None
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {_first_line(r.stderr)}")
    return r


def _first_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[0] if lines else "(no message)"


def _require_checkout(root):
    """Canaries are checked against a git checkout; anything else is an error, not a skip."""
    r = _git(["rev-parse", "--show-toplevel"], root, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{root} is not a git checkout (the canary patches are checked with git apply)")
    if pathlib.Path(r.stdout.strip()).resolve() != root:
        raise RuntimeError(f"{root} is not the top of its git checkout ({r.stdout.strip()} is)")


def apply_check(name, root=None):
    """None if the patch applies to the tree at root, else git's reason (one line)."""
    root = _root(root)
    path = patch_path(name, root)
    r = _git(["apply", "--check", str(path)], root, check=False)
    return None if r.returncode == 0 else _first_line(r.stderr)


def prepare(name, root=None):
    """A fresh copy of the working tree (what `git ls-files -co --exclude-standard`
    lists: tracked and untracked files that are not ignored, so no build/ or
    fuzz-out/) at <root>/build/canary-src/<name>, with the canary's patch applied.
    The copy is a git repository of its own (one commit: the clean tree), so
    that git inside it never reaches the tree it was copied from. Returns its root."""
    root = _root(root)
    patch = patch_path(name, root)
    _require_checkout(root)
    dest = root / "build" / "canary-src" / name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    listed = _git(["ls-files", "-co", "--exclude-standard", "-z"], root).stdout.split("\0")
    for rel in filter(None, listed):
        src = root / rel
        if not os.path.lexists(src) or src.is_dir():
            continue  # deleted in the working tree, or a nested repository
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out, follow_symlinks=False)
    # GIT_CEILING_DIRECTORIES keeps git from finding the outer repository
    # before the copy has one of its own.
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(dest.parent),
               GIT_AUTHOR_NAME="canary", GIT_AUTHOR_EMAIL="canary@localhost",
               GIT_COMMITTER_NAME="canary", GIT_COMMITTER_EMAIL="canary@localhost")
    _git(["init", "-q"], dest, env=env)
    _git(["add", "-A"], dest, env=env)
    _git(["commit", "-q", "--no-verify", "-m", "clean tree"], dest, env=env)
    r = _git(["apply", str(patch)], dest, check=False, env=env)
    if r.returncode != 0:
        raise PatchDoesNotApply(f"ci/canaries/{name}.patch no longer applies: {_first_line(r.stderr)}")
    return dest


def header(name, root=None):
    """The text of a patch before its first `diff --git` line."""
    text = patch_path(name, root).read_text(encoding="utf-8")
    return text[: text.find("diff --git")] if "diff --git" in text else text


def refresh(name, root=None):
    """Rewrites the patch as an exact diff against the current tree; True if it changed."""
    root = _root(root)
    path = patch_path(name, root)
    copy = prepare(name, root)
    body = _git(["diff"], copy).stdout
    shutil.rmtree(copy)
    new = header(name, root) + body
    if new == path.read_text(encoding="utf-8"):
        return False
    path.write_text(new, encoding="utf-8")
    return True


# ---- the tools' side: --canary NAME and --list-canaries, the same everywhere
def check(name):
    """Returns name if it is a known canary; else bad usage naming the known ones."""
    if name not in names():
        raise Fail(USAGE, f"{UnknownCanary(name)}; see --list-canaries")
    return name


def listing():
    """One canary per line: name, then what it breaks and its kind."""
    lines = []
    for n in names():
        d = describe(n)
        lines.append(f"{n}\t{d['breaks']} [{d['kind']}]")
    return "\n".join(lines)


def prepared(name):
    """prepare() for a tool: the patched copy's root as a string; an unknown
    name is bad usage, a patch that no longer applies a tool failure."""
    try:
        return str(prepare(check(name)))
    except (PatchDoesNotApply, RuntimeError, ValueError, OSError) as e:
        raise Fail(TOOL, f"cannot prepare canary '{name}': {e}") from None


def add_arguments(p, what=None):
    """--canary NAME (unless what is None: a tool that takes names otherwise)
    and --list-canaries."""
    if what is not None:
        p.add_argument("--canary", metavar="NAME", help=f"{what} with a planted engine bug (ci/canaries/NAME.patch)")
    p.add_argument("--list-canaries", action="store_true", help="print the canary names and what each breaks, then exit")


def listed(a):
    """Handles the canary flags: True when --list-canaries printed the list
    (the tool is done); an unknown --canary is bad usage."""
    if a.list_canaries:
        print(listing(), flush=True)
        return True
    if getattr(a, "canary", None):
        check(a.canary)
    return False


def _cli(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m gomap_ci.canary",
                                description="List the canaries (ci/canaries/*.patch) or check that each still applies.")
    p.error = lambda message: (sys.stderr.write(f"{p.prog}: error: {message} (see --help)\n"), sys.exit(2))
    p.add_argument("command", choices=("list", "check", "refresh"))
    p.add_argument("names", nargs="*", metavar="NAME", help="refresh: only these canaries (default: all)")
    p.add_argument("--root", type=pathlib.Path, default=None, help="the repository root (default: this checkout)")
    a = p.parse_args(argv)
    root = _root(a.root)
    try:
        if a.command == "list":
            for n in names(root):
                print(f"{n}\t{describe(n, root)['kind']}")
            return 0
        _require_checkout(root)
        known = names(root)
        if a.command == "refresh":
            for n in a.names or known:
                print(f"{n}: {'rewritten' if refresh(n, root) else 'unchanged'}")
            return 0
        if not known:
            print(f"{p.prog}: no canaries in {patch_dir(root)}", file=sys.stderr)
            return 3
        chosen = a.names or known
        failed = [(n, why) for n in chosen if (why := apply_check(n, root)) is not None]
        for n, why in failed:
            print(f"canary {n}: ci/canaries/{n}.patch does not apply: {why}", file=sys.stderr)
        if failed:
            print(f"{len(failed)} of {len(chosen)} canary patches do not apply: {', '.join(n for n, _ in failed)}",
                  file=sys.stderr)
            return 1
        print(f"all {len(chosen)} canary patches apply")
        return 0
    except ValueError as e:
        print(f"{p.prog}: {e}", file=sys.stderr)
        return 2
    except PatchDoesNotApply as e:
        print(f"{p.prog}: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"{p.prog}: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(_cli())
