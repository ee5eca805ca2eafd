// Shared by the property files: run a generated program through the one
// executor and, when it fails, say everything a person needs to act on it.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gomap_harness/executor.hpp"
#include "gomap_harness/rc_generators.hpp"

namespace gomap_props {

namespace gh = gomap_harness;

// Where failing programs are written: $GOMAP_PROPS_FAILURES (ctest sets it to
// build/<preset>/props/failures), else ./props-failures. RapidCheck visits
// failing cases from large to small while shrinking, so the file ends up
// holding the minimal one.
inline std::string save_counterexample(const std::string& property, const gh::Program& p) {
  const char* dir_env = std::getenv("GOMAP_PROPS_FAILURES");
  const std::filesystem::path dir = dir_env && *dir_env ? dir_env : "props-failures";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path file = dir / (property + ".txt");
  std::ofstream(file) << gh::to_text(p);
  return std::filesystem::absolute(file).string();
}

// Fails the property with: the divergence, the program in the text form, a
// GoogleTest case, and the command that keeps it as a fuzz regression.
// RapidCheck adds the RC_PARAMS="reproduce=..." line itself.
inline void fail_with_program(const std::string& property, const gh::Program& p, const std::string& what) {
  const std::string file = save_counterexample(property, p);
  // The program itself is printed by RapidCheck (showValue: the text form).
  RC_FAIL(what + "\n(" + std::to_string(p.ops.size()) + " ops; saved to " + file + ")\nas a GoogleTest:\n" +
          gh::gtest_case(p, property, "props " + property) +
          "\nkeep it as a fuzz regression (replayed by ctest forever):\n  gomap-replay --to-text --out corpus/regressions/" +
          p.target + "/" + property + ".txt " + file + "\n");
}

template <class T>
void run_and_check(const std::string& property, const gh::Program& p, gh::ExecOptions opts = {}) {
  const gh::RunResult r = gh::execute<T>(p, std::move(opts));
  if (!r.ok) fail_with_program(property, p, gh::describe_failure(*r.failure));
}

// The program's observable story: one line per op with what it returned.
template <class T>
std::vector<std::string> trace_of(const gh::Program& p, bool* ok = nullptr) {
  std::vector<std::string> lines;
  gh::ExecOptions opts;
  opts.on_op_begin = [&](const std::string& op) { lines.push_back(op); };
  opts.on_op_end = [&](const std::string& result) { lines.back() += "  ->  " + result; };
  const gh::RunResult r = gh::execute<T>(p, std::move(opts));
  if (ok) *ok = r.ok;
  return lines;
}

}  // namespace gomap_props
