// gomap-replay --minimize (gomap_harness/minimize.hpp). Label: tools.
//
// Why fake replay binaries. A correct engine has no failing program, so an
// in-tree test cannot hand the real gomap-replay a program that fails. The
// shrinking tests therefore give the minimizer small shell scripts in place
// of the replay binary: each takes `--quiet FILE` like gomap-replay, and
// prints what gomap-replay prints for a failure (`rule: [family]`,
// `failure-rule: <id>`, a sanitizer SUMMARY and abort) when FILE holds a known
// core of lines, in order. Everything the minimizer does is real: it runs each
// candidate in a child process with a time limit, reads the child's output and
// status, and compares signatures. The real binary is used where the engine
// needs no bug: a clean input, --out, the mode checks. The real shrinking is
// measured against planted bugs (ci/canaries) and reported with the change
// that added this file.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "gomap_harness/minimize.hpp"
#include "tool_run.hpp"

using namespace gomap_tool_test;
namespace gh = gomap_harness;

namespace {

// A map_u64 program: `core` lines spread over padding ops that no fake
// cares about (no key 5, no iterator ops).
std::string padded_program(const std::vector<std::string>& core, std::size_t padding) {
  std::string text = "# padded\ntarget map_u64\ndomain 1\nseed 3\nhint 0\ndeep 0\n";
  const std::size_t every = padding / (core.size() + 1) + 1;
  std::size_t next_core = 0;
  for (std::size_t i = 0; i < padding; ++i) {
    if (i % every == every - 1 && next_core < core.size()) text += core[next_core++] + "\n";
    switch (i % 6) {
      case 0: text += "set " + std::to_string(10 + i) + " " + std::to_string(i % 200) + "\n"; break;
      case 1: text += "get " + std::to_string(11 + i) + "\n"; break;
      case 2: text += "len\n"; break;
      case 3: text += "erase " + std::to_string(6 + i) + "\n"; break;
      case 4: text += "incr " + std::to_string(12 + i) + "\n"; break;
      default: text += "copy_compare\n"; break;
    }
  }
  while (next_core < core.size()) text += core[next_core++] + "\n";
  return text;
}

// The op lines of a text (lines that are not comments or directives).
std::vector<std::string> op_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string first = line.substr(0, line.find(' '));
    if (gh::is_op_name(first)) out.push_back(line);
  }
  return out;
}

// A fake replay binary: `body` runs with $f the candidate file.
fs::path fake_replay(const TempDir& d, const std::string& name, const std::string& body) {
  const fs::path p = d / name;
  write_file(p, "#!/bin/sh\nfor f; do :; done\n" + body);
  ::chmod(p.c_str(), 0755);
  return p;
}

// awk that sets s to 3 once `set 5 V`, `erase 5` and `get 5` came in that
// order, and g once a `get 5` followed a `set 5 V` at all.
const char* const kCoreAwk =
    "awk '/^set 5 [0-9]+$/ { if (s == 0) s = 1 }\n"
    "     /^erase 5$/ { if (s == 1) s = 2 }\n"
    "     /^get 5$/ { if (s == 2) s = 3; if (s >= 1) g = 1 }\n"
    "     /^len$/ { l = 1 }\n";

struct Minimized {
  int status = -1;
  std::string out, err, file;
};

Minimized minimize_with(const TempDir& d, const fs::path& exe, const std::string& text, double timeout = 0,
                        bool to_file = true) {
  gh::MinimizeOptions mo;
  mo.name = "padded.txt";
  mo.text = text;
  mo.exe = exe.string();
  if (to_file) mo.out = (d / "min.txt").string();
  mo.timeout_seconds = timeout;
  std::ostringstream out, err;
  Minimized m;
  m.status = gh::minimize_main(mo, out, err);
  m.out = out.str();
  m.err = err.str();
  if (fs::exists(d / "min.txt")) m.file = read_file(d / "min.txt");
  return m;
}

std::string describe(const Minimized& m) {
  return "status " + std::to_string(m.status) + "\n--- out\n" + m.out + "--- err\n" + m.err + "--- file\n" + m.file;
}

}  // namespace

// ---- shrinking, with fake replay binaries

TEST(Minimize, ShrinksPaddingToTheCoreWithTheSameRule) {
  TempDir d;
  // load-factor when the core and some `len` are there; without a `len` the
  // same core is a `size` failure, which is another failure: `len` must stay.
  // Without its target line the program is unreadable (exit 2), as in gomap-replay.
  const fs::path fake = fake_replay(d, "fake-replay",
                                    "grep -qx 'target map_u64' \"$f\" || { echo 'gomap-replay: error: no target'; exit 2; }\n" +
                                        std::string(kCoreAwk) +
                                        "     END { if (s < 3) exit 0; print \"FAILED at get 5\";\n"
                                        "           if (l) { print \"  rule:     [load-factor] grows\"; print \"failure-rule: load-factor\" }\n"
                                        "           else { print \"  rule:     [size] len\"; print \"failure-rule: size\" }\n"
                                        "           exit 1 }' \"$f\"\n");
  const std::string text = padded_program({"set 5 9", "erase 5", "get 5"}, 48);
  ASSERT_EQ(op_lines(text).size(), 51u);
  const Minimized m = minimize_with(d, fake, text);
  ASSERT_EQ(m.status, 0) << describe(m);
  // The core, the value operand shrunk to 0 (the fake takes any value), one len.
  std::vector<std::string> ops = op_lines(m.file);
  EXPECT_EQ(ops.size(), 4u) << describe(m);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "len"), 1) << describe(m);
  ops.erase(std::remove(ops.begin(), ops.end(), "len"), ops.end());
  EXPECT_EQ(ops, (std::vector<std::string>{"set 5 0", "erase 5", "get 5"})) << describe(m);
  // Directives and the target line are kept: the file replays with its target.
  for (const char* kept : {"\ntarget map_u64\n", "\ndomain 1\n", "\nseed 3\n", "# padded\n"})
    EXPECT_NE(m.file.find(kept), std::string::npos) << kept << "\n" << describe(m);
  EXPECT_NE(m.out.find("minimize: 51 ops -> 4 ops ("), std::string::npos) << describe(m);
  EXPECT_NE(m.out.find(" candidates run, "), std::string::npos) << describe(m);
  EXPECT_NE(m.out.find("still fails with failure-rule: load-factor"), std::string::npos) << describe(m);
  // And the written file still fails the same way.
  const ToolRun again = run(d, {fake.string(), "--quiet", (d / "min.txt").string()});
  EXPECT_EQ(again.exit_code, 1) << describe(again);
  EXPECT_NE(again.out.find("failure-rule: load-factor\n"), std::string::npos) << describe(again);
}

TEST(Minimize, SanitizerReportKindMustStayTheSame) {
  TempDir d;
  // set, erase, get: a use after free; set and get alone: an overflow, another
  // report kind. Both abort the "replay" like ASan with abort_on_error.
  const fs::path fake = fake_replay(d, "fake-asan",
                                    "k=$(" + std::string(kCoreAwk) +
                                        "     END { if (s == 3) print \"heap-use-after-free\"; else if (g) print \"heap-buffer-overflow\" }' \"$f\")\n"
                                        "[ -n \"$k\" ] || exit 0\n"
                                        "echo \"==1==ERROR: AddressSanitizer: $k on address 0x602000000010\" >&2\n"
                                        "echo \"SUMMARY: AddressSanitizer: $k /src/engine.hpp:12 in gomap::f()\" >&2\n"
                                        "kill -ABRT $$\n");
  // Without --out: the program alone on stdout, the report on stderr.
  const Minimized m = minimize_with(d, fake, padded_program({"set 5 77", "erase 5", "get 5"}, 30), 0, false);
  ASSERT_EQ(m.status, 0) << describe(m);
  EXPECT_EQ(op_lines(m.out), (std::vector<std::string>{"set 5 0", "erase 5", "get 5"})) << describe(m);
  EXPECT_EQ(m.out.rfind("# minimized by gomap-replay --minimize from padded.txt: 33 ops -> 3 ops, AddressSanitizer: heap-use-after-free\n", 0), 0u) << describe(m);
  EXPECT_EQ(m.out.find("minimize: "), std::string::npos) << describe(m);
  EXPECT_NE(m.err.find("still fails with AddressSanitizer: heap-use-after-free\n"), std::string::npos) << describe(m);
}

TEST(Minimize, AHangingCandidateIsKilledAndRejected) {
  TempDir d;
  // iter_next without the iter_start before it hangs: those candidates must
  // time out, be killed, and not be taken.
  const fs::path fake = fake_replay(d, "fake-hang",
                                    "r=$(awk '/^iter_start 0$/ { st = 1 } /^iter_next 0$/ { if (st) ok = 1; else hang = 1 }\n"
                                    "         END { if (hang) print \"hang\"; else if (ok) print \"fail\" }' \"$f\")\n"
                                    "if [ \"$r\" = hang ]; then echo $$ >> " + shell_quote((d / "hung.pids").string()) +
                                        "; exec sleep 60; fi\n"
                                        "[ \"$r\" = fail ] || exit 0\n"
                                        "echo '  rule:     [iteration] yields'; echo 'failure-rule: iteration'; exit 1\n");
  const auto t0 = std::chrono::steady_clock::now();
  const Minimized m = minimize_with(d, fake, padded_program({"iter_start 0", "iter_next 0"}, 30), 1.5);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(m.status, 0) << describe(m);
  EXPECT_EQ(op_lines(m.file), (std::vector<std::string>{"iter_start 0", "iter_next 0"})) << describe(m);
  EXPECT_LT(secs, 50.0) << describe(m);
  // Some candidates did hang, and none of them is still running.
  const std::string pids = read_file(d / "hung.pids");
  ASSERT_FALSE(pids.empty()) << describe(m);
  std::istringstream in(pids);
  for (int pid; in >> pid;) EXPECT_NE(::kill(pid, 0), 0) << "hung candidate " << pid << " still runs";
}

// The concurrent text form is not known to the minimizer beyond its two
// rules: whole op lines (either op language), single schedule steps.
TEST(Minimize, ScheduleStepsAndThreadBlocksOfTheConcurrentForm) {
  const std::string text =
      "target concurrent_map\nthreads 2\nthread 0\n  store 1\n  load 1   # a comment\n  len\n"
      "thread 1\n  erase 1\n  compare_and_swap 1\n  range\nschedule 0 1 0 1 1 0 0 1\n";
  gh::UnitText ut(text);
  EXPECT_EQ(ut.units(), 6u + 8u);
  EXPECT_EQ(ut.render(std::vector<bool>(ut.units(), true)), text);
  // Fails when thread 0 stores and the schedule still runs thread 1 twice.
  auto fails = [](const std::string& t) {
    const std::size_t s = t.find("schedule");
    const std::string sched = s == std::string::npos ? "" : t.substr(s);
    return t.find("\n  store 1\n") != std::string::npos && std::count(sched.begin(), sched.end(), '1') >= 2;
  };
  gh::MinimizeStats stats;
  const std::string min = gh::minimize_text(text, fails, stats);
  EXPECT_EQ(min, "target concurrent_map\nthreads 2\nthread 0\n  store 1\nthread 1\nschedule 1 1\n");
  EXPECT_EQ(stats.ops_before, 6u);
  EXPECT_EQ(stats.ops_after, 1u);
  EXPECT_EQ(stats.steps_before, 8u);
  EXPECT_EQ(stats.steps_after, 2u);
}

TEST(Minimize, SignatureFromReplayAndSanitizerOutput) {
  const gh::ChildStatus exit1{false, false, 0, 1}, abrt{false, true, SIGABRT, 0}, clean{}, bad{false, false, 0, 2};
  auto sig = [](const std::string& out, const gh::ChildStatus& st) { return gh::signature_of(out, st); };
  const auto inv = sig(">>> FIRST DIVERGENCE\nFAILED at erase 3\n  rule:     [invariants: no-trailing-emptyOne] x\n"
                       "failure-rule: invariants\nRESULT: FAIL f\n", exit1);
  EXPECT_EQ(inv.rule, "invariants");
  EXPECT_EQ(inv.family, "invariants: no-trailing-emptyOne");
  EXPECT_TRUE(inv.other.empty());
  const auto uaf = sig("==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"
                       "SUMMARY: AddressSanitizer: heap-use-after-free (/b/gomap-replay+0x4d2) in f\n", abrt);
  EXPECT_EQ(uaf.sanitizer, "AddressSanitizer");
  EXPECT_EQ(uaf.report, "heap-use-after-free");
  EXPECT_TRUE(uaf.other.empty()) << "a sanitizer report is the signature, not the abort";
  EXPECT_EQ(sig("SUMMARY: ThreadSanitizer: data race /src/sync_map.hpp:40:7 in gomap::SyncMap::load\n", {false, false, 0, 66}).report,
            "data race");
  EXPECT_EQ(sig("WARNING: ThreadSanitizer: data race (pid=12)\n", {false, false, 0, 66}).report, "data race");
  EXPECT_EQ(sig("SUMMARY: AddressSanitizer: 48 byte(s) leaked in 2 allocation(s).\n", exit1).report, "leak");
  const auto ub = sig("x.hpp:3:5: runtime error: shift exponent 70\nSUMMARY: UndefinedBehaviorSanitizer: undefined-behavior x.hpp:3:5 in\n", clean);
  EXPECT_EQ(ub.sanitizer, "UndefinedBehaviorSanitizer");
  EXPECT_EQ(ub.report, "undefined-behavior");
  EXPECT_TRUE(ub.fails()) << "a report is a failure even when the process exits 0";
  EXPECT_EQ(sig("gomap harness: a map value was read while not alive (magic 0xdeadbeef)\n", abrt).other,
            "signal 6 (" + std::string(::strsignal(SIGABRT)) + "): gomap harness: a map value was read while not alive");
  EXPECT_EQ(sig("", {true, false, 0, 0}).other, "timeout");
  EXPECT_FALSE(sig("RESULT: ok f\n", clean).fails());
  EXPECT_FALSE(sig("gomap-replay: error: f: line 3: bad key\n", bad).fails()) << "a refused candidate is not the failure";
  EXPECT_NE(sig("failure-rule: size\n", exit1), sig("failure-rule: load-factor\n", exit1));
}

// ---- the real gomap-replay

TEST(Minimize, CleanInputIsNothingToMinimize) {
  TempDir d;
  write_file(d / "p.txt", kGoodProgram);
  fs::create_directories(d / "tmp");
  // TMPDIR: the minimizer's private directory must be gone afterwards.
  const ToolRun r = run(d, {"env", "TMPDIR=" + (d / "tmp").string(), GOMAP_REPLAY_BIN, "--minimize", (d / "p.txt").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("nothing to minimize: " + (d / "p.txt").string() + " replays clean"), std::string::npos) << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);
  EXPECT_TRUE(fs::is_empty(d / "tmp")) << "the candidate directory was left behind";
}

TEST(Minimize, OutNeverOverwrites) {
  TempDir d;
  write_file(d / "p.txt", kGoodProgram);
  write_file(d / "min.txt", "keep me\n");
  const ToolRun r = replay(d, {"--minimize", (d / "p.txt").string(), "--out", (d / "min.txt").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("exists; refusing to overwrite it"), std::string::npos) << describe(r);
  EXPECT_EQ(read_file(d / "min.txt"), "keep me\n");
  // The same refusal in the library (checked before anything runs).
  gh::MinimizeOptions mo;
  mo.name = "p.txt";
  mo.text = kGoodProgram;
  mo.exe = "/nonexistent/replay";
  mo.out = (d / "min.txt").string();
  std::ostringstream out, err;
  EXPECT_EQ(gh::minimize_main(mo, out, err), 2) << err.str();
  EXPECT_EQ(read_file(d / "min.txt"), "keep me\n");
}

TEST(Minimize, UsageErrors) {
  TempDir d;
  write_file(d / "p.txt", kGoodProgram);
  const std::string f = (d / "p.txt").string();
  expect_clean_error(replay(d, {"--minimize", f, f}));                   // one file
  expect_clean_error(replay(d, {"--minimize", f, "--to-text"}));         // one mode
  expect_clean_error(replay(d, {"--minimize", f, "--emit-test"}));
  expect_clean_error(replay(d, {"--minimize", (d / "missing.txt").string()}));
  expect_clean_error(replay(d, {"--minimize", f, "--target", "map_string"}));  // against the file
  // A replay binary that cannot run is the tool failing (3), one line.
  gh::MinimizeOptions mo;
  mo.name = "p.txt";
  mo.text = kGoodProgram;
  mo.exe = (d / "no-such-replay").string();
  std::ostringstream out, err;
  EXPECT_EQ(gh::minimize_main(mo, out, err), 3);
  const std::string e = err.str();
  EXPECT_EQ(e.rfind("gomap-replay: error: cannot run the replay binary ", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
}
