"""ci/screenshot.sh: render a nightly report.html in headless Chromium and
save a PNG, to prove the report renders (and to look at it). Installs
Debian's chromium through ci/bootstrap.sh. Paths are relative to your
directory.

Exit status: 0 the PNG was written; 2 bad usage or no such report; 3
Chromium wrote no screenshot.
"""
import os
import subprocess
import sys
import tempfile

from .common import CLEAN, TOOL, USAGE, Fail, bootstrap, main_guard, parser, say, user_path

PROG = "ci/screenshot.sh"


def parse_args(argv):
    p = parser(PROG, __doc__.split("\n\n")[0], __doc__.split("\n\n", 1)[1])
    p.add_argument("report", type=user_path, help="the report.html")
    p.add_argument("png", type=user_path, nargs="?", help="the PNG (default: next to the report)")
    p.add_argument("--size", default="1200,1800", help="window size WIDTH,HEIGHT (default 1200,1800)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isfile(a.report):
        raise Fail(USAGE, f"{a.report}: no such file")
    out = a.png or os.path.splitext(a.report)[0] + ".png"
    bootstrap(PROG, "chromium")
    with tempfile.TemporaryDirectory() as profile:
        if os.path.exists(out):
            os.unlink(out)
        # The flags keep Chromium off the network and out of any existing profile.
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={a.size}",
               f"--screenshot={out}", "file://" + a.report]
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        except subprocess.TimeoutExpired:
            pass
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        raise Fail(TOOL, "chromium wrote no screenshot")
    say(f"{PROG}: {out} ({os.path.getsize(out)} bytes)")
    return CLEAN


if __name__ == "__main__":
    main_guard(PROG, main)
