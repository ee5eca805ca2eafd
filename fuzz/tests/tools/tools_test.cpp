// The tools as a user meets them, each test first written against a fault
// seen on the tools (a text regression replayed as binary, --target silently
// overriding the file, --help running the job, a replay binary hanging on a
// FIFO, an unbounded input, a regressions folder nobody replays). Label: tools.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "gomap_harness/fuzz_target.hpp"
#include "gomap_harness/targets.hpp"
#include "tool_run.hpp"

using namespace gomap_tool_test;
namespace gh = gomap_harness;

namespace {

const fs::path kSource(GOMAP_SOURCE_DIR);

std::string program_with_comment(const std::string& comment) {
  return "# " + comment + "\ntarget map_u64\ndomain 1\nseed 3\nhint 0\ndeep 1\nset 1 1\nset 2 2\niter_start 0\nclear\nset 3 3\n";
}

// The "== FILE: FORM, target T ..., N ops" header line of a replay.
std::string header_of(const ToolRun& r) { return r.out.substr(0, r.out.find('\n')); }

}  // namespace

// ---- text or binary: a text program is never replayed as bytes

TEST(TextForm, NonAsciiCommentStillReplaysAsText) {
  TempDir d;
  write_file(d / "p.txt", program_with_comment("found by the seeds \xe2\x80\x94 an em dash, and caf\xc3\xa9"));
  const ToolRun r = replay(d, {(d / "p.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(header_of(r).find(": text, target map_u64"), std::string::npos) << describe(r);
  EXPECT_NE(header_of(r).find(", 5 ops"), std::string::npos) << describe(r);
}

TEST(TextForm, ShippedEmDashRegressionReplaysItsStory) {
  TempDir d;
  const fs::path f = kSource / "corpus/regressions/map_bigkey/indirect_values_leaked_on_destroy.txt";
  const ToolRun r = replay(d, {f.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(header_of(r).find(": text, target map_bigkey (from text)"), std::string::npos) << describe(r);
  EXPECT_NE(header_of(r).find(", 5 ops"), std::string::npos) << describe(r);
}

TEST(TextForm, TextThatIsNotValidTextIsAnError) {
  TempDir d;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"invalid_utf8.txt", program_with_comment("bad \xff byte")},
      {"truncated_utf8.txt", program_with_comment("cut \xe2\x80")},
      {"nul.txt", program_with_comment(std::string("nul \0 byte", 10))},
      {"control_in_op.txt", program_with_comment("ok") + "set 4\x01 4\n"},
      {"latin1_in_op.txt", program_with_comment("ok") + "s\xe9t 4 4\n"},
  };
  for (const auto& [name, text] : bad) {
    write_file(d / name, text);
    const ToolRun r = replay(d, {(d / name).string()});
    SCOPED_TRACE(name);
    expect_clean_error(r);
    EXPECT_NE(r.err.find("line "), std::string::npos) << describe(r);
  }
}

TEST(TextForm, TxtFilesAreTextEvenWithoutATargetLine) {
  TempDir d;
  fs::create_directories(d / "map_u64");
  write_file(d / "map_u64" / "story.txt", "# no target line: the folder names it\nset 1 1\nget 1\n");
  const ToolRun r = replay(d, {(d / "map_u64" / "story.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(header_of(r).find(": text, target map_u64 (from path)"), std::string::npos) << describe(r);
  EXPECT_NE(header_of(r).find(", 2 ops"), std::string::npos) << describe(r);
  write_file(d / "map_u64" / "bytes.txt", std::string("\x00\x01\x02\x03\x04", 5));
  expect_clean_error(replay(d, {(d / "map_u64" / "bytes.txt").string()}));
}

// ---- --target and the target a file names

TEST(TargetOption, ConflictWithTheFileIsAnError) {
  TempDir d;
  write_file(d / "p.txt", kGoodProgram);
  expect_clean_error(replay(d, {"--target", "map_string", (d / "p.txt").string()}));
  ASSERT_EQ(replay(d, {"--to-binary", "--out", (d / "p.bin").string(), (d / "p.txt").string()}).exit_code, 0);
  const ToolRun r = replay(d, {"--target", "map_double", (d / "p.bin").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("binary header"), std::string::npos) << describe(r);
  // Agreeing with the file, or naming the target of a headerless input, is fine.
  EXPECT_EQ(replay(d, {"--quiet", "--target", "map_u64", (d / "p.txt").string()}).exit_code, 0);
  const std::string bin = read_file(d / "p.bin");
  write_file(d / "raw", bin.substr(5));  // no GMAP header
  EXPECT_EQ(replay(d, {"--quiet", "--target", "map_u64", (d / "raw").string()}).exit_code, 0);
}

TEST(ReplayModes, ConflictingModesAreAnError) {
  TempDir d;
  write_file(d / "p.txt", kGoodProgram);
  const std::string f = (d / "p.txt").string();
  expect_clean_error(replay(d, {"--to-text", "--to-binary", "--out", (d / "x").string(), f}));
  expect_clean_error(replay(d, {"--to-binary", "--emit-test", "--out", (d / "y").string(), f}));
  expect_clean_error(replay(d, {"--dict", "map_u64", "--to-text", f}));
  expect_clean_error(replay(d, {"--dict", "map_u64", "--list-targets"}));
  expect_clean_error(replay(d, {"--dict", "no_such_target"}));
  expect_clean_error(replay(d, {"--list-rules", f}));
  expect_clean_error(replay(d, {"--options", "map_u64", "--dict", "map_u64"}));
  expect_clean_error(replay(d, {"--options", "no_such_target"}));
}

// ---- --help and usage errors of the corpus scripts

TEST(CorpusScripts, HelpPrintsHelpAndDoesNothingElse) {
  TempDir d;
  const ToolRun seeds = run(d, {"python3", (kSource / "corpus/make_seeds.py").string(), "--help"}, 60);
  EXPECT_EQ(seeds.exit_code, 0) << describe(seeds);
  EXPECT_EQ(seeds.out.rfind("usage:", 0), 0u) << describe(seeds);
  EXPECT_EQ(seeds.err.find("wrote"), std::string::npos) << describe(seeds);
  for (const char* flag : {"--help", "-h"}) {
    const ToolRun build = run(d, {(kSource / "corpus/build.sh").string(), flag}, 60);
    EXPECT_EQ(build.exit_code, 0) << describe(build);
    EXPECT_EQ(build.out.rfind("usage:", 0), 0u) << describe(build);
    EXPECT_EQ(build.err, "") << describe(build);
  }
}

TEST(CorpusScripts, UsageErrorsAreOneLine) {
  TempDir d;
  // A flag without its value.
  const ToolRun seeds = run(d, {"python3", (kSource / "corpus/make_seeds.py").string(), "--replay"}, 60);
  EXPECT_EQ(seeds.exit_code, 2) << describe(seeds);
  EXPECT_NE(seeds.err.find("expected one argument"), std::string::npos) << describe(seeds);
  EXPECT_EQ(seeds.err.find("Traceback"), std::string::npos) << describe(seeds);
  // A gomap-replay that is not there: the environment, exit 3, one line.
  const ToolRun missing = run(d, {"python3", (kSource / "corpus/make_seeds.py").string(), "--replay", (d / "nope").string()}, 60);
  expect_clean_error(missing, "make_seeds.py: error:", 3);
  expect_clean_error(run(d, {(kSource / "corpus/build.sh").string(), "--bogus"}, 60), "corpus/build.sh: error:");
  expect_clean_error(run(d, {(kSource / "corpus/build.sh").string(), "a", "b"}, 60), "corpus/build.sh: error:");
}

TEST(CorpusScripts, RelativeReplayPathIsTakenFromTheCallersDirectory) {
  TempDir d;
  const ToolRun r = run(d, {"sh", "-c", "cd " + shell_quote(d.path().string()) + " && exec " +
                                            shell_quote((kSource / "corpus/build.sh").string()) + " ./not-here"}, 60);
  expect_clean_error(r, "corpus/build.sh: error: " + (d.path() / "not-here").string() + " ", 3);
}

// ---- the standalone replay binaries: no hang, no unbounded input

TEST(StandaloneReplay, RefusesAFifoInsteadOfHanging) {
  TempDir d;
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  const ToolRun r = run(d, {GOMAP_STANDALONE_BIN, (d / "fifo").string()}, 20);
  EXPECT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << describe(r);
  // So does gomap-replay, and a directory with only a FIFO holds no input.
  const ToolRun g = run(d, {GOMAP_REPLAY_BIN, (d / "fifo").string()}, 20);
  EXPECT_FALSE(g.timed_out) << describe(g);
  expect_clean_error(g);
  const ToolRun dev = run(d, {GOMAP_STANDALONE_BIN, "/dev/zero"}, 20);
  EXPECT_FALSE(dev.timed_out) << describe(dev);
  EXPECT_EQ(dev.exit_code, 2) << describe(dev);
}

TEST(StandaloneReplay, RefusesInputsOverTheCap) {
  TempDir d;
  write_file(d / "big", std::string(gh::kMaxFuzzInputBytes + 1, '\x01'));
  const ToolRun r = run(d, {GOMAP_STANDALONE_BIN, (d / "big").string()}, 20);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("too large"), std::string::npos) << describe(r);
}

// The libFuzzer entry itself: libFuzzer passes a file given on its command
// line whole, whatever -max_len says, so the entry bounds the work.
TEST(FuzzEntry, IgnoresAHugeInput) {
  std::vector<std::uint8_t> huge(100u << 20, 0x00);  // 100 MiB of `set` ops
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(gh::fuzz_one<gh::U64Target>(huge.data(), huge.size(), nullptr), -1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// ---- every registered target's regressions and corpus are replayed by ctest

TEST(Ctest, EveryTargetHasItsReplayTests) {
  TempDir d;
  const ToolRun targets = replay(d, {"--list-targets"});
  ASSERT_EQ(targets.exit_code, 0) << describe(targets);
  const ToolRun tests = run(d, {CTEST_COMMAND, "--test-dir", GOMAP_BINARY_DIR, "-N"}, 60);
  ASSERT_EQ(tests.exit_code, 0) << describe(tests);
  std::istringstream lines(targets.out);
  std::size_t listed = 0;
  for (std::string line; std::getline(lines, line); ++listed) {
    const std::string t = line.substr(0, line.find('\t'));
    for (const std::string test : {"fuzz_regressions_" + t, "fuzz_corpus_" + t, "fuzz_corpus_deep_" + t})
      EXPECT_NE(tests.out.find(": " + test + "\n"), std::string::npos) << test << " is not a ctest test";
  }
  EXPECT_EQ(listed, gh::kTargetNames.size()) << "--list-targets must list every registered target";
}
