"""The ci/ side of the canaries (planted engine bugs): name checks and the
list, over ci/gomap_ci/canary.py, which owns the patches themselves."""
from .common import USAGE, TOOL, Fail


def module():
    try:
        from . import canary
    except ImportError as e:
        raise Fail(TOOL, f"canary support is missing (ci/gomap_ci/canary.py: {e})") from None
    return canary


def check(name):
    """Returns name if it is a known canary; else bad usage naming the known ones."""
    mod = module()
    known = list(mod.names())
    if name not in known:
        raise Fail(USAGE, f"unknown canary '{name}' (known: {', '.join(known)}; see --list-canaries)")
    return name


def listing():
    """One canary per line: name, then what it breaks (and its kind, when the
    patch header gives one)."""
    mod = module()
    lines = []
    for n in mod.names():
        d = mod.describe(n)
        if isinstance(d, dict):
            d = d.get("breaks", "") + (f" [{d['kind']}]" if d.get("kind") else "")
        lines.append(f"{n}\t{d}")
    return "\n".join(lines)


def prepare(name):
    """The patched copy of the tree the canary builds from."""
    mod = module()
    try:
        return str(mod.prepare(name))
    except mod.UnknownCanary as e:
        raise Fail(USAGE, str(e)) from None
    except Exception as e:  # noqa: BLE001 - a patch that no longer applies is a tool failure
        raise Fail(TOOL, f"cannot prepare canary '{name}': {e}") from None


def add_arguments(p, what):
    """--canary NAME and --list-canaries, the same for every tool."""
    p.add_argument("--canary", metavar="NAME", help=f"{what} with a planted engine bug (ci/canaries/NAME.patch)")
    p.add_argument("--list-canaries", action="store_true", help="print the canary names and what each breaks, then exit")


def listed(a):
    """Handles the canary flags: True when --list-canaries printed the list
    (the tool is done); an unknown --canary is bad usage."""
    if a.list_canaries:
        print(listing(), flush=True)
        return True
    if a.canary:
        check(a.canary)
    return False
