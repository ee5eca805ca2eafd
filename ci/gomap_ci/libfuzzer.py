"""libFuzzer as the ci/ tools see it: a target's flags from corpus/<t>.options,
the statistics in its log, and the list of targets (asked of gomap-replay).

One parser for every log: plain mode ("#N NEW cov: C ft: F ... exec/s: E
rss: RMb"), -fork mode ("#N: cov: C ft: F corp: K exec/s E oom/timeout/crash:
a/b/c time: Ts ...") and the final -print_final_stats=1 block
("stat::number_of_executed_units: N" ...).
"""
import configparser
import glob
import os
import re
import subprocess

from .common import ROOT, TOOL, USAGE, Fail

CORPUS = os.path.join(ROOT, "corpus")

_STATUS = re.compile(r"^#(\d+):?\s+(.*)$")
_FIELD = {
    "cov": re.compile(r"\bcov: (\d+)"),
    "ft": re.compile(r"\bft: (\d+)"),
    "exec_per_sec": re.compile(r"\bexec/s:? (\d+)"),
    "rss_mb": re.compile(r"\brss: (\d+)Mb"),
    "corp": re.compile(r"\bcorp: (\d+)"),
}
_FINAL = re.compile(r"^stat::(\w+):\s*(\d+)", re.M)
_FORK_FAILS = re.compile(r"oom/timeout/crash: (\d+)/(\d+)/(\d+)")


def options_flags(target, corpus=CORPUS):
    """libFuzzer flags from corpus/<target>.options ([libfuzzer] key = value);
    `dict` is relative to corpus/. A missing file means no flags."""
    path = os.path.join(corpus, target + ".options")
    if not os.path.exists(path):
        return []
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read(path)
    except configparser.Error as e:
        raise Fail(USAGE, f"{path}: {e.message.splitlines()[0]}") from None
    if not cp.has_section("libfuzzer"):
        return []
    flags = []
    for key, value in cp.items("libfuzzer"):
        if key == "dict":
            value = os.path.join(corpus, value)
        flags.append(f"-{key}={value}")
    return flags


def parse_log(text):
    """Statistics of one libFuzzer log. 'final' is True when the run printed
    its final stats (it ended normally rather than being killed)."""
    s = {"runs": 0, "exec_per_sec": 0, "cov": 0, "ft": 0, "peak_rss_mb": 0, "corp": 0,
         "final": False, "fork_fails": None, "done_seconds": None}
    for line in text.splitlines():
        m = _STATUS.match(line)
        if not m:
            continue
        s["runs"] = max(s["runs"], int(m.group(1)))
        rest = m.group(2)
        for key, rx in _FIELD.items():
            f = rx.search(rest)
            if f:
                v = int(f.group(1))
                if key == "rss_mb":
                    s["peak_rss_mb"] = max(s["peak_rss_mb"], v)
                else:
                    s[key] = v
        f = _FORK_FAILS.search(rest)
        if f:
            s["fork_fails"] = {"oom": int(f.group(1)), "timeout": int(f.group(2)), "crash": int(f.group(3))}
    final = dict((k, int(v)) for k, v in _FINAL.findall(text))
    if final:
        s["final"] = True
        s["runs"] = final.get("number_of_executed_units", s["runs"])
        s["exec_per_sec"] = final.get("average_exec_per_sec", s["exec_per_sec"])
        s["peak_rss_mb"] = max(s["peak_rss_mb"], final.get("peak_rss_mb", 0))
    done = re.search(r"^Done (\d+) runs in (\d+) second", text, re.M)
    if done:
        s["runs"] = max(s["runs"], int(done.group(1)))
        s["done_seconds"] = int(done.group(2))
    return s


def parse_log_file(path):
    try:
        with open(path, errors="replace") as f:
            return parse_log(f.read())
    except OSError:
        return parse_log("")


def last_line(path):
    """The last non-blank line of a log, for a one-line reason."""
    try:
        with open(path, errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
    except OSError:
        return "no log"
    return f"last log line: {lines[-1][:160]}" if lines else "empty log"


def verdict(stats, exit, seconds, budget, artifacts, hung=False, forked=False, log=None):
    """Did a fuzzer run fuzz as asked? ('finding' | 'failed' | 'clean', why),
    for ci/fuzz.sh and the nightly alike. stats: parse_log's; exit: its exit
    status (or the runner's 'cannot run: ...'); seconds: how long it ran of
    `budget`; artifacts: how many it left; hung: killed past its budget;
    forked: a -fork parent, which prints no final statistics. A run that
    fuzzed less than asked is never clean."""
    tail = f"; {last_line(log)}" if log else ""
    if artifacts:
        return "finding", f"{artifacts} artifact(s)"
    if hung:
        return "failed", f"still running {seconds:.0f}s after a {budget}s budget; killed"
    if isinstance(exit, int) and exit < 0:
        how = f"killed by signal {-exit}"
    else:
        how = f"exited with status {exit}" if isinstance(exit, int) else str(exit)
    if stats["runs"] == 0:
        return "failed", f"fuzzed nothing (0 runs; {how}{tail})"
    if exit != 0:
        return "failed", f"{how} without an artifact ({stats['runs']} runs{tail})"
    if not (stats["final"] or forked):
        return "failed", f"ended without libFuzzer's final statistics ({stats['runs']} runs{tail})"
    if seconds < budget * 0.9 - 1:
        return "failed", f"fuzzed {seconds:.0f}s of the {budget}s asked"
    return "clean", ""


def list_targets(replay, engine=None):
    """The map targets, from the one registry (`gomap-replay --list-targets`,
    one target per line: name, id, domains, nan, engine). engine="gomap":
    only the targets on gomap::Map (the ones with gomap's engine states)."""
    try:
        out = subprocess.run([replay, "--list-targets"], check=True, capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise Fail(TOOL, f"cannot list the targets with {replay}: {e}") from None
    rows = [line.split() for line in out.splitlines() if line.strip()]
    if not rows:
        raise Fail(TOOL, f"{replay} --list-targets printed no target")
    return [r[0] for r in rows if engine is None or engine in r[1:]]


def job_targets(replay):
    """What ci/fuzz.sh and the ClusterFuzzLite build fuzz: the map targets of
    the registry, then every other fuzz target that ships a corpus
    (corpus/<name>/: concurrent_sched, whose inputs replay exactly). The
    real-thread concurrent_map ships none; the nightly runs it under TSan."""
    maps = list_targets(replay)
    return maps + [t for t in program_targets() if t not in maps and os.path.isdir(os.path.join(CORPUS, t))]


def artifacts(folder):
    """The files libFuzzer left in an artifact folder (crash-, leak-,
    timeout-, oom-... plus the sha1), sorted; hidden temporaries skipped."""
    try:
        return sorted(f for f in os.listdir(folder)
                      if not f.startswith(".") and os.path.isfile(os.path.join(folder, f)))
    except OSError:
        return []


def program_targets():
    """Every target with a program of its own (fuzz/targets/<name>.cpp): the
    map targets of the registry plus the concurrent ones (concurrent_map)."""
    return sorted(os.path.splitext(os.path.basename(p))[0]
                  for p in glob.glob(os.path.join(ROOT, "fuzz", "targets", "*.cpp")))
