// gomap_harness/program_file.hpp — reading program files for replay, safely.
//
// Any file a user points a tool at — a libFuzzer crash, a corpus entry, a text
// regression — goes through load_program_file(), which either returns a
// program with its target or throws InputError with a one-line reason (empty,
// too large, not a regular file, truncated or corrupt header, bad text line,
// unknown or undetectable target, a --target the file contradicts). Tools
// print that line and exit non-zero. A file is text when it is named *.txt
// or looks like text (program.hpp's looks_like_text); text must parse.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gomap_harness/concurrent_program.hpp"
#include "gomap_harness/program.hpp"

namespace gomap_harness {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file (text or binary) larger than this is refused. It is larger than the
// fuzz targets' input cap (kMaxFuzzInputBytes) because the text form of a
// program is several times the size of its binary form.
inline constexpr std::size_t kMaxInputBytes = 1 << 20;

struct LoadedProgram {
  Program program;
  // Set instead of `program` for a concurrent_sched program (its text names
  // that target, its binary header carries kConcurrentSchedId, its path is
  // under a concurrent_sched folder, or --target says so).
  std::optional<ConcurrentProgram> concurrent;
  std::string path;
  std::string form;          // "text" or "binary"
  std::string target_from;   // how the target was found: "--target", "header", "text", "path"
};

// The target a loaded program runs as: its map target or concurrent_sched.
std::string target_of(const LoadedProgram& lp);
// Its text form (to_text or concurrent_to_text).
std::string text_of(const LoadedProgram& lp);

// `forced_target`: from --target; must be a known target.
LoadedProgram load_program_file(const std::string& path, const std::optional<std::string>& forced_target);

// Expands files and directories (recursively, sorted, skipping hidden files)
// into the list of files to replay. Throws InputError for a missing path or a
// directory without files.
std::vector<std::string> expand_inputs(const std::vector<std::string>& paths);

}  // namespace gomap_harness
