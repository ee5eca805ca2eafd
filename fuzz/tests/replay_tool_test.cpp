// gomap-replay as a user meets it: bad inputs give one clear line and exit 2,
// good programs replay deterministically, and the shipped corpus is in sync.
#include <gtest/gtest.h>

#include "tool_run.hpp"
#include "gomap_harness/concurrent_program.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "gomap_harness/program.hpp"
#include "gomap_harness/executor.hpp"  // adapter_of, HasStats
#include "gomap_harness/targets.hpp"

using namespace gomap_tool_test;
namespace fs = std::filesystem;
namespace gh = gomap_harness;

TEST(ReplayTool, EmptyFile) {
  TempDir d;
  write_file(d / "empty.bin", "");
  expect_clean_error(replay(d, {(d / "empty.bin").string()}));
}

TEST(ReplayTool, TooLargeFile) {
  TempDir d;
  write_file(d / "big.bin", std::string(2 << 20, '\x01'));
  const ToolRun r = replay(d, {"--target", "map_u64", (d / "big.bin").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("too large"), std::string::npos) << r.err;
}

TEST(ReplayTool, DirectoryWithoutFiles) {
  TempDir d;
  fs::create_directories(d / "nothing" / "inside");
  write_file(d / "nothing" / ".hidden", "set 1 1\n");  // hidden files are skipped
  expect_clean_error(replay(d, {(d / "nothing").string()}));
}

TEST(ReplayTool, MissingPath) {
  TempDir d;
  expect_clean_error(replay(d, {(d / "no-such-file.bin").string()}));
}

TEST(ReplayTool, TruncatedHeader) {
  TempDir d;
  write_file(d / "magic_only.bin", "GMAP");
  expect_clean_error(replay(d, {"--target", "map_u64", (d / "magic_only.bin").string()}));
  write_file(d / "one_byte.bin", std::string("GMAP\x01", 5));
  expect_clean_error(replay(d, {(d / "one_byte.bin").string()}));
}

TEST(ReplayTool, CorruptTargetId) {
  TempDir d;
  write_file(d / "corrupt.bin", std::string("GMAP\x09\x00\x00\x00\x0f", 9));
  const ToolRun r = replay(d, {(d / "corrupt.bin").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("corrupt header"), std::string::npos) << r.err;
}

TEST(ReplayTool, TextWithBadLine) {
  TempDir d;
  write_file(d / "bad.txt", "target map_u64\nset 1 1\nset 1 999\nlen\n");
  const ToolRun r = replay(d, {(d / "bad.txt").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("line 3:"), std::string::npos) << r.err;
}

TEST(ReplayTool, UnknownTargetOption) {
  TempDir d;
  write_file(d / "good.txt", kGoodProgram);
  expect_clean_error(replay(d, {"--target", "map_nope", (d / "good.txt").string()}));
}

TEST(ReplayTool, BinaryWithoutDetectableTarget) {
  TempDir d;
  write_file(d / "input.bin", std::string("\x00\x01\x00\x00\x05\x00\x07\x0f", 8));
  const ToolRun r = replay(d, {(d / "input.bin").string()});
  expect_clean_error(r);
  EXPECT_NE(r.err.find("--target"), std::string::npos) << r.err;
}

TEST(ReplayTool, GoodProgramReplaysDeterministically) {
  TempDir d;
  write_file(d / "good.txt", kGoodProgram);
  const ToolRun a = replay(d, {(d / "good.txt").string()});
  ASSERT_FALSE(a.signalled) << describe(a);
  EXPECT_EQ(a.exit_code, 0) << describe(a);
  EXPECT_NE(a.out.find("RESULT: ok"), std::string::npos) << describe(a);
  EXPECT_EQ(a.err, "") << describe(a);
  const ToolRun b = replay(d, {(d / "good.txt").string()});
  EXPECT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_EQ(a.out, b.out);
  // --deep and --quiet runs are deterministic too.
  const ToolRun c = replay(d, {"--deep", "--quiet", (d / "good.txt").string()});
  const ToolRun e = replay(d, {"--deep", "--quiet", (d / "good.txt").string()});
  EXPECT_EQ(c.exit_code, 0) << describe(c);
  EXPECT_EQ(c.out, e.out);
}

TEST(ReplayTool, BinaryFormReplaysLikeText) {
  TempDir d;
  const auto bytes = gh::encode(gh::parse_text(kGoodProgram), true);
  write_file(d / "good.bin", std::string(bytes.begin(), bytes.end()));
  const ToolRun r = replay(d, {(d / "good.bin").string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("RESULT: ok"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("binary, target map_u64 (from header)"), std::string::npos) << describe(r);
}

TEST(ReplayTool, ToTextNeverOverwrites) {
  TempDir d;
  write_file(d / "good.txt", kGoodProgram);
  write_file(d / "existing.txt", "keep me\n");
  const ToolRun r = replay(d, {"--to-text", "--out", (d / "existing.txt").string(), (d / "good.txt").string()});
  expect_clean_error(r);
  EXPECT_EQ(read_file(d / "existing.txt"), "keep me\n");
  // Into a new file it writes the canonical text, which parses back to the program.
  const ToolRun w = replay(d, {"--to-text", "--out", (d / "new.txt").string(), (d / "good.txt").string()});
  EXPECT_EQ(w.exit_code, 0) << describe(w);
  EXPECT_EQ(gh::parse_text(read_file(d / "new.txt")), gh::parse_text(kGoodProgram));
}

TEST(ReplayTool, EmitTest) {
  TempDir d;
  write_file(d / "good.txt", kGoodProgram);
  const ToolRun r = replay(d, {"--emit-test", (d / "good.txt").string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("TEST(Regression,"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find(gh::to_text(gh::parse_text(kGoodProgram))), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("run_text_program"), std::string::npos) << describe(r);
}

TEST(ReplayTool, EveryRegressionReplaysOk) {
  TempDir d;
  const auto files = files_under(fs::path(GOMAP_SOURCE_DIR) / "corpus" / "regressions", ".txt");
  ASSERT_FALSE(files.empty());
  for (const fs::path& f : files) {
    const ToolRun r = replay(d, {"--deep", "--quiet", f.string()});
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << describe(r);
    EXPECT_NE(r.out.find("RESULT: ok"), std::string::npos) << f << "\n" << describe(r);
  }
}

TEST(Corpus, BinarySeedsMatchTheirTextSources) {
  const fs::path corpus = fs::path(GOMAP_SOURCE_DIR) / "corpus";
  const auto seeds = files_under(corpus / "seeds", ".txt");
  ASSERT_FALSE(seeds.empty());
  for (const fs::path& src : seeds) {
    const std::string target = src.parent_path().filename().string();
    std::vector<std::uint8_t> want;
    if (target == gh::kConcurrentSchedName) {
      want = gh::encode_concurrent(gh::parse_concurrent_text(read_file(src)));
    } else {
      ASSERT_TRUE(gh::target_id(target)) << src;
      gh::Program p = gh::parse_text(read_file(src));
      if (p.target.empty()) p.target = target;
      EXPECT_EQ(p.target, target) << src;
      want = gh::encode(p, true);
    }
    const fs::path bin = corpus / target / (src.stem().string() + ".bin");
    ASSERT_TRUE(fs::exists(bin)) << bin << " is missing: run corpus/build.sh";
    const std::string have = read_file(bin);
    EXPECT_EQ(have, std::string(want.begin(), want.end())) << bin << " is stale: run corpus/build.sh";
  }
}

TEST(ReplayTool, ModesDoNotCombine) {
  TempDir d;
  write_file(d / "good.txt", kGoodProgram);
  expect_clean_error(replay(d, {"--states", "--to-text", (d / "good.txt").string()}));
  expect_clean_error(replay(d, {"--to-text", "--emit-test", (d / "good.txt").string()}));
  expect_clean_error(replay(d, {"--list-targets", (d / "good.txt").string()}));
  // Flags the chosen mode would ignore are errors too: an emitted "deep"
  // regression that is not deep, a --target the dictionary does not use.
  expect_clean_error(replay(d, {"--deep", "--emit-test", (d / "good.txt").string()}));
  expect_clean_error(replay(d, {"--quiet", "--to-text", (d / "good.txt").string()}));
  expect_clean_error(replay(d, {"--target", "map_string", "--dict", "map_u64"}));
}

TEST(ReplayTool, ListTargetsIsTheRegistry) {
  TempDir d;
  const ToolRun r = replay(d, {"--list-targets"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string want;
  for (std::size_t i = 0; i < gh::kTargetNames.size(); ++i)
    want += std::string(gh::kTargetNames[i]) + "\t" + std::to_string(i) + "\t";
  std::string got;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto second_tab = line.find('\t', line.find('\t') + 1);
    got += line.substr(0, second_tab + 1);
  }
  EXPECT_EQ(got, want) << describe(r);
}

// Every engine state a target's keys can make (fuzz/README.md, "State space")
// is reached by its shipped seeds, so fuzzing starts from all of them. A
// change to the hash breaks the same-size recipes of corpus/make_seeds.py;
// this says so. The states are gomap's (its Stats): targets on other engines
// have none.
TEST(Corpus, SeedsReachEveryReachableState) {
  TempDir d;
  const fs::path corpus = fs::path(GOMAP_SOURCE_DIR) / "corpus";
  std::vector<std::string_view> gomap_targets;
  gh::for_each_target([&]<class T>() {
    if constexpr (gh::HasStats<gh::adapter_of<T>>) gomap_targets.push_back(T::name);
  });
  ASSERT_FALSE(gomap_targets.empty());
  for (std::string_view t : gomap_targets) {
    const ToolRun r = replay(d, {"--states", (corpus / std::string(t)).string()});
    ASSERT_EQ(r.exit_code, 0) << t << "\n" << describe(r);
    const std::string prefix = "states: " + std::string(t) + " reached ";
    const auto at = r.out.find(prefix);
    ASSERT_NE(at, std::string::npos) << describe(r);
    std::istringstream summary(r.out.substr(at + prefix.size()));
    std::size_t reached = 0, reachable = 0;
    std::string of;
    summary >> reached >> of >> reachable;
    EXPECT_EQ(reached, reachable) << t << " seeds miss states:\n"
                                  << [&] {
                                       std::string missed;
                                       std::istringstream all(r.out);
                                       for (std::string line; std::getline(all, line);)
                                         if (line.size() > 7 && line.compare(line.size() - 7, 7, "\tmissed") == 0)
                                           missed += line + "\n";
                                       return missed;
                                     }();
    EXPECT_GT(reachable, 0u) << t;
  }
}

// The registry (targets.hpp) is the one list of targets: CMake globs
// fuzz/targets/*.cpp (but concurrent_map.cpp), and every target needs a file there, seeds, a
// corpus, a regressions folder and its libFuzzer options. A file, folder or
// options file for a target the registry does not know would be skipped
// silently by everything that reads the registry, so it fails here.
TEST(Registry, TargetFilesMatchTheRegistry) {
  TempDir d;
  const ToolRun r = replay(d, {"--list-targets"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::vector<std::string> listed;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) listed.push_back(line.substr(0, line.find('\t')));
  ASSERT_FALSE(listed.empty());
  const fs::path src(GOMAP_SOURCE_DIR);
  auto names_in = [](const fs::path& dir, const std::string& ext, bool dirs) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string n = e.path().filename().string();
      // Not map targets: the concurrent targets (checked below), and
      // corpus/'s own folders.
      if (n.rfind("concurrent_", 0) == 0 || n == "seeds" || n == "regressions" || n == "tools" || n.front() == '.') continue;
      if (dirs ? e.is_directory() : e.path().extension() == ext) out.push_back(e.path().stem().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  std::vector<std::string> want = listed;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names_in(src / "fuzz" / "targets", ".cpp", false), want) << "fuzz/targets/*.cpp";
  EXPECT_EQ(names_in(src / "corpus" / "seeds", "", true), want) << "corpus/seeds/";
  EXPECT_EQ(names_in(src / "corpus", "", true), want) << "corpus/<target>/";
  EXPECT_EQ(names_in(src / "corpus" / "regressions", "", true), want) << "corpus/regressions/";
  EXPECT_EQ(names_in(src / "corpus", ".options", false), want) << "corpus/<target>.options";
  // The scheduled concurrent target has the same files as a map target; its
  // regressions are the concurrent failures, in corpus/regressions/concurrent_map/
  // (replayed by fuzz_regressions_concurrent_map).
  const std::string sched(gh::kConcurrentSchedName);
  for (const fs::path& p : {src / "fuzz" / "targets" / (sched + ".cpp"), src / "corpus" / "seeds" / sched,
                            src / "corpus" / sched, src / "corpus" / (sched + ".options"), src / "corpus" / (sched + ".dict"),
                            src / "corpus" / "regressions" / "concurrent_map"})
    EXPECT_TRUE(fs::exists(p)) << p << " is missing";
}

// The shipped dictionaries and options files are build outputs of the op
// table and the targets: one that differs from `gomap-replay --dict` or
// `--options` is stale (rerun corpus/build.sh).
TEST(Corpus, DictionariesAndOptionsMatchTheirSources) {
  TempDir d;
  std::vector<std::string_view> targets(gh::kTargetNames.begin(), gh::kTargetNames.end());
  targets.push_back(gh::kConcurrentSchedName);
  for (std::string_view t : targets) {
    for (const std::string kind : {"dict", "options"}) {
      const ToolRun r = replay(d, {"--" + kind, std::string(t)});
      ASSERT_EQ(r.exit_code, 0) << describe(r);
      const fs::path shipped = fs::path(GOMAP_SOURCE_DIR) / "corpus" / (std::string(t) + "." + kind);
      EXPECT_EQ(read_file(shipped), r.out) << shipped << " is stale: rerun corpus/build.sh";
    }
  }
}
