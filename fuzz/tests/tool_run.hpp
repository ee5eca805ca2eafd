// Shared by the tool tests (replay_tool_test.cpp, tools/): run a tool in a
// scratch directory and look at its exit status, stdout and stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace gomap_tool_test {
namespace fs = std::filesystem;


inline const char* const kGoodProgram =
    "# a small program that grows the map under a live iterator\n"
    "target map_u64\n"
    "domain 1\n"
    "seed 3\n"
    "hint 0\n"
    "deep 1\n"
    "set 1 1\nset 2 2\nset 3 3\nset 4 4\nset 5 5\nset 6 6\nset 7 7\nset 8 8\nset 9 9\n"
    "iter_start 0\niter_next 0\n"
    "set 10 1\nset 11 1\nset 12 1\nset 13 1\nset 14 1\n"
    "iter_next 0\niter_erase_yielded 0\niter_next 0\niter_set_yielded 0 42\n"
    "get 3\nerase 4\nincr 5\nlen\ncopy_compare\ncompact\n"
    "iter_next 0\niter_next 0\niter_next 0\niter_next 0\niter_next 0\niter_next 0\niter_next 0\n"
    "iter_next 0\niter_next 0\niter_next 0\niter_next 0\niter_next 0\niter_next 0\niter_next 0\n"
    "iter_stop 0\nclear\nnew_map 8 4\nset 1 1\ncheck\n";

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
  ASSERT_TRUE(out.good()) << p;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct ToolRun {
  bool signalled = false;
  bool timed_out = false;
  int exit_code = -1;
  std::string out, err;
};

// A fresh directory per test, removed afterwards. Its name holds no target
// name, so that the replay tool cannot guess a target from the path.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("gomap_replay_tool_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Runs argv[0] with the rest as arguments and stdin from /dev/null;
// `timeout_s` > 0 kills it (SIGKILL) after that long and sets timed_out.
inline ToolRun run(const TempDir& dir, const std::vector<std::string>& argv, int timeout_s = 0) {
  const fs::path out = dir / ".stdout", err = dir / ".stderr";
  std::string cmd;
  if (timeout_s > 0) cmd = "timeout -s KILL " + std::to_string(timeout_s) + " ";
  for (const std::string& a : argv) cmd += (cmd.empty() || cmd.back() == ' ' ? "" : " ") + shell_quote(a);
  // exec, so that the status is the tool's own and a signal is not folded into 128+n by the shell.
  cmd = "exec " + cmd + " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  ToolRun r;
  if (WIFSIGNALED(status)) {
    r.signalled = true;
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    r.timed_out = timeout_s > 0 && (r.exit_code == 124 || r.exit_code == 128 + 9);  // timeout(1)'s statuses
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline ToolRun replay(const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{GOMAP_REPLAY_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(dir, argv);
}

inline std::string describe(const ToolRun& r) {
  return "exit " + std::to_string(r.exit_code) + (r.signalled ? " (signalled)" : "") + (r.timed_out ? " (timed out)" : "") + "\n--- stdout\n" + r.out +
         "--- stderr\n" + r.err;
}

// Exit `status` (2: bad usage or input) and exactly one line on stderr
// that starts with `prefix`.
inline void expect_clean_error(const ToolRun& r, const std::string& prefix = "gomap-replay: error:", int status = 2) {
  EXPECT_FALSE(r.signalled) << describe(r);
  EXPECT_EQ(r.exit_code, status) << describe(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << describe(r);
  EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << describe(r);
  EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << describe(r);
}

inline std::vector<fs::path> files_under(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ext && e.path().filename().string()[0] != '.')
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gomap_tool_test
