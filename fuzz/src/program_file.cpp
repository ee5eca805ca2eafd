#include "gomap_harness/program_file.hpp"

#include "gomap_harness/targets.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace gomap_harness {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> target_in_path(const fs::path& path) {
  // corpus/map_u64/x, crashes/map_u64/crash-..., corpus/regressions/map_u64/x,
  // or a file named map_u64-... / map_u64_...
  for (fs::path p = path.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (target_id(p.filename().string())) return p.filename().string();
    if (p == p.parent_path()) break;
  }
  const std::string name = path.filename().string();
  for (std::string_view t : kTargetNames) {
    if (name.size() > t.size() && name.compare(0, t.size(), t) == 0 && (name[t.size()] == '-' || name[t.size()] == '_' || name[t.size()] == '.'))
      return std::string(t);
  }
  return std::nullopt;
}

bool under_concurrent_sched(const fs::path& path) {
  for (fs::path p = path.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (p.filename() == kConcurrentSchedName) return true;
    if (p == p.parent_path()) break;
  }
  const std::string name = path.filename().string();
  const std::string_view t = kConcurrentSchedName;
  return name.size() > t.size() && name.compare(0, t.size(), t) == 0 &&
         (name[t.size()] == '-' || name[t.size()] == '_' || name[t.size()] == '.');
}

}  // namespace

std::string target_of(const LoadedProgram& lp) {
  return lp.concurrent ? std::string(kConcurrentSchedName) : lp.program.target;
}

std::string text_of(const LoadedProgram& lp) {
  return lp.concurrent ? concurrent_to_text(*lp.concurrent) : to_text(lp.program);
}

LoadedProgram load_program_file(const std::string& path, const std::optional<std::string>& forced_target) {
  const bool forced_concurrent = forced_target && *forced_target == kConcurrentSchedName;
  if (forced_target && !forced_concurrent && !target_id(*forced_target)) {
    throw InputError("unknown target '" + *forced_target + "' (known: " + target_list() + " " +
                     std::string(kConcurrentSchedName) + ")");
  }
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError(path + ": no such file");
  if (fs::is_directory(st)) throw InputError(path + ": is a directory, expected a file");
  if (!fs::is_regular_file(st)) throw InputError(path + ": not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw InputError(path + ": cannot read size: " + ec.message());
  if (size == 0) throw InputError(path + ": empty file (no program)");
  if (size > kMaxInputBytes) {
    throw InputError(path + ": too large (" + std::to_string(size) + " bytes; inputs are at most " +
                     std::to_string(kMaxInputBytes) + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != size) throw InputError(path + ": short read");

  LoadedProgram out;
  out.path = path;
  const bool text = fs::path(path).extension() == ".txt" || looks_like_text(bytes.data(), bytes.size());
  const std::string_view as_text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  // A concurrent_sched program: it says so (text target line, binary header),
  // or --target or its path says so.
  const bool says_concurrent = text ? is_concurrent_text(as_text) : has_concurrent_header(bytes.data(), bytes.size());
  const bool says_other = text ? false : has_binary_header(bytes.data(), bytes.size());
  if (says_concurrent || (!says_other && (forced_concurrent || (!forced_target && !text && under_concurrent_sched(fs::path(path)))))) {
    if (forced_target && !forced_concurrent) {
      throw InputError(path + ": is a program for " + std::string(kConcurrentSchedName) + " (its " +
                       (text ? "target line" : "binary header") + " says so), not for --target " + *forced_target);
    }
    out.form = text ? "text" : "binary";
    if (text) {
      try {
        out.concurrent = parse_concurrent_text(as_text);
      } catch (const ParseError& e) {
        throw InputError(path + ": " + e.what());
      }
    } else {
      out.concurrent = decode_concurrent(bytes.data(), bytes.size());
    }
    out.target_from = says_concurrent ? (text ? "text" : "header") : forced_concurrent ? "--target" : "path";
    return out;
  }
  if (forced_concurrent) {
    throw InputError(path + ": is a map program" + (says_other ? " (its binary header says so)" : std::string()) +
                     ", not a program for --target " + std::string(kConcurrentSchedName));
  }
  // A .txt file (regressions, seeds, --to-text output) is a text program
  // even without a `target` line: it must parse, never replay as bytes.
  if (text) {
    out.form = "text";
    try {
      out.program = parse_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    } catch (const ParseError& e) {
      throw InputError(path + ": " + e.what());
    }
    if (!out.program.target.empty()) out.target_from = "text";
  } else {
    out.form = "binary";
    if (bytes.size() >= 4 && std::equal(bytes.begin(), bytes.begin() + 4, kBinaryMagic)) {
      if (bytes.size() < 5) throw InputError(path + ": truncated header (GMAP without a target id)");
      if (!has_binary_header(bytes.data(), bytes.size())) {
        throw InputError(path + ": corrupt header: unknown target id " + std::to_string(bytes[4]));
      }
      if (bytes.size() < 5 + 3) throw InputError(path + ": truncated: header but no configuration bytes");
    }
    out.program = decode(bytes.data(), bytes.size());
    if (!out.program.target.empty()) out.target_from = "header";
  }
  if (forced_target && !out.program.target.empty() && out.program.target != *forced_target) {
    // The file says which target it is for; running it as another would
    // replay a different program than the one saved.
    throw InputError(path + ": is a program for " + out.program.target + " (its " +
                     (out.target_from == "header" ? "binary header" : "target line") + " says so), not for --target " +
                     *forced_target);
  }
  if (forced_target) {
    out.program.target = *forced_target;
    out.target_from = "--target";
  } else if (out.program.target.empty()) {
    if (auto t = target_in_path(fs::path(path))) {
      out.program.target = *t;
      out.target_from = "path";
    } else {
      throw InputError(path + ": cannot tell which target this input is for; pass --target NAME");
    }
  }
  return out;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) throw InputError(p + ": no such file or directory");
    const fs::file_status st = fs::status(p, ec);
    if (!ec && fs::is_regular_file(st)) {
      files.push_back(p);
      continue;
    }
    // A FIFO, socket or device would block a read or never end.
    if (ec || !fs::is_directory(st)) throw InputError(p + ": not a regular file or directory");
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) found.push_back(it->path().string());
    }
    if (ec) throw InputError(p + ": cannot list directory: " + ec.message());
    if (found.empty()) throw InputError(p + ": directory holds no input files");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace gomap_harness
