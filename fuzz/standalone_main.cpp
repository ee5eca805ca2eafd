// A main() for fuzz targets built without libFuzzer (any compiler): feeds each
// file (directories are walked) to LLVMFuzzerTestOneInput once, like
// libFuzzer's regression mode. Flags starting with '-' are accepted and
// ignored so the same command lines work for both builds. A divergence
// aborts inside the target with its description. Unreadable inputs — not a
// regular file (a FIFO would block), or over kMaxFuzzInputBytes, which the
// target would ignore — get a one-line error and exit status 2.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "gomap_harness/program_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" const char* gomap_fuzz_target_name();

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') paths.emplace_back(argv[i]);
  }
  if (paths.empty()) {
    std::fprintf(stderr, "usage: %s FILE|DIR... (replays inputs of target %s)\n", argv[0], gomap_fuzz_target_name());
    return 2;
  }
  std::vector<std::string> files;
  try {
    files = gomap_harness::expand_inputs(paths);
  } catch (const gomap_harness::InputError& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return 2;
  }
  for (const std::string& f : files) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(f, ec);
    if (ec) {
      std::fprintf(stderr, "%s: error: %s: cannot read size: %s\n", argv[0], f.c_str(), ec.message().c_str());
      return 2;
    }
    if (size > gomap_harness::kMaxFuzzInputBytes) {
      std::fprintf(stderr, "%s: error: %s: too large (%ju bytes; fuzz inputs are at most %zu)\n", argv[0], f.c_str(),
                   std::uintmax_t(size), gomap_harness::kMaxFuzzInputBytes);
      return 2;
    }
    std::ifstream in(f, std::ios::binary);
    std::vector<std::uint8_t> bytes(size);
    if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
      std::fprintf(stderr, "%s: error: %s: cannot read\n", argv[0], f.c_str());
      return 2;
    }
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("%s: replayed %zu inputs, no divergence\n", gomap_fuzz_target_name(), files.size());
  return 0;
}
