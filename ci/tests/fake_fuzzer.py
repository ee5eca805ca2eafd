#!/usr/bin/env python3
"""A stand-in for a libFuzzer target (and for gomap-replay's --list-* flags),
for the fault-injection tests of the ci/ tools. Its command lines are
appended to FAKE_FUZZER_ARGV when set; -merge=1 does nothing. FAKE_FUZZER_MODE
picks how it misbehaves:

  clean     fuzz for -max_total_time seconds, print status lines and final stats
  zero      print libFuzzer's start and exit 1 after 0 runs (a bad ASAN_OPTIONS)
  zero-ok   take the whole budget, exit 0 having run nothing
  short     exit 0 with final stats after 1 second, whatever the budget
  hang      ignore the budget and sleep
  crash     write a crash artifact (artifact_prefix), report a sanitizer error, exit 1;
            given a crash file, replay it (the report, exit 1) or minimize it
            (-exact_artifact_path)
  fill      write a large log (fills a small disk), then a crash artifact, exit 1
  family    like clean, but first start a grandchild that sleeps; its pid goes
            to FAKE_FUZZER_PIDFILE (for the SIGTERM test)
  fork      libFuzzer -fork's parent: status lines without rss, no final
            peak_rss_mb, and one worker it waits for that touches 150 MB
"""
import os
import subprocess
import sys
import time

if "--list-targets" in sys.argv:
    print("map_u64\t0\t3\tno-nan\tgomap\nmap_double\t2\t3\tnan\tgomap")
    sys.exit(0)
if "--list-states" in sys.argv:
    print("no-nan/no-growth/no-iter/clear\nnan/no-growth/no-iter/clear")
    sys.exit(0)

if os.environ.get("FAKE_FUZZER_ARGV"):
    with open(os.environ["FAKE_FUZZER_ARGV"], "a") as f:
        f.write("\t".join(sys.argv[1:]) + "\n")
if "-merge=1" in sys.argv:
    sys.exit(0)  # merging: nothing to write into the real corpus
mode = os.environ.get("FAKE_FUZZER_MODE", "clean")
exact = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("-exact_artifact_path=")), None)
files = [a for a in sys.argv[1:] if not a.startswith("-") and os.path.isfile(a)]
if files and mode == "crash":
    # replaying (or minimizing) a crash file: the report again, never a new artifact elsewhere
    print("  rule:     [load-factor] growth starts one entry early\nfailure-rule: load-factor", flush=True)
    print("==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1", flush=True)
    if exact:
        with open(exact, "wb") as f:
            f.write(b"GMAP")
        sys.exit(0)
    sys.exit(1)
budget = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("-max_total_time=")), 1)
prefix = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("-artifact_prefix=")), "./")


def say(line):
    try:
        print(line, flush=True)
    except OSError:
        pass  # a full disk: carry on as libFuzzer does


def final(runs, secs):
    say(f"Done {runs} runs in {secs} second(s)")
    say(f"stat::number_of_executed_units: {runs}")
    say(f"stat::average_exec_per_sec:     {runs // max(1, secs)}")
    say("stat::new_units_added:          3")
    say("stat::slowest_unit_time_sec:    0")
    say("stat::peak_rss_mb:              42")


def fuzz(seconds):
    start, runs = time.time(), 0
    say("INFO: Seed: 1")
    say("#2\tINITED cov: 10 ft: 20 corp: 1/1b exec/s: 0 rss: 30Mb")
    while time.time() - start < seconds:
        time.sleep(0.2)
        runs += 1000
        say(f"#{runs}\tpulse  cov: {10 + runs // 1000} ft: {20 + runs // 500} corp: 5/50b lim: 4 exec/s: 5000 rss: 40Mb")
    final(runs, max(1, round(time.time() - start)))


def artifact(data):
    name = prefix + "crash-da39a3ee5e6b4b0d3255bfef95601890afd80709"
    try:
        with open(name, "wb") as f:
            f.write(data)
    except OSError:
        pass
    say(f"artifact_prefix='{prefix}'; Test unit written to {name}")


if mode == "clean":
    fuzz(budget)
elif mode == "zero":
    say("INFO: Seed: 1")
    say("ERROR: AddressSanitizer: invalid value for detect_leaks")
    sys.exit(1)
elif mode == "zero-ok":
    time.sleep(budget)
    final(0, budget)
elif mode == "short":
    fuzz(1)
elif mode == "hang":
    time.sleep(3600)
elif mode == "crash":
    fuzz(0.5)
    say("==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1")
    artifact(b"GMAP\x00 crash bytes")
    sys.exit(1)
elif mode == "fill":
    for _ in range(2000):
        say("x" * 1000)
    say("==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1")
    artifact(b"GMAP\x00 crash bytes" * 100)
    sys.exit(1)
elif mode == "fork":
    say("INFO: -fork=1: fuzzing in separate process(s)")
    worker = "b = bytearray(150 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1"
    subprocess.run([sys.executable, "-c", worker], check=True)
    say("#5000: cov: 12 ft: 30 corp: 5 exec/s 2500 oom/timeout/crash: 0/0/0 time: 2s job: 1 dft_time: 0")
    time.sleep(budget)
    say(f"Done 5000 runs in {budget} second(s)")
elif mode == "family":
    child = subprocess.Popen(["sleep", "300"])
    with open(os.environ["FAKE_FUZZER_PIDFILE"], "w") as f:
        f.write(str(child.pid))
    fuzz(budget)
