// A main() for fuzz targets built without libFuzzer (any compiler): feeds each
// file (directories are walked) to LLVMFuzzerTestOneInput once, like
// libFuzzer's regression mode. Flags starting with '-' are accepted and
// ignored so the same command lines work for both builds. A divergence
// aborts inside the target with its description; unreadable inputs get a
// one-line error and exit status 2.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
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
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: error: %s: cannot open\n", argv[0], f.c_str());
      return 2;
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() > gomap_harness::kMaxInputBytes) {
      std::fprintf(stderr, "%s: error: %s: too large (%zu bytes)\n", argv[0], f.c_str(), bytes.size());
      return 2;
    }
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("%s: replayed %zu inputs, no divergence\n", gomap_fuzz_target_name(), files.size());
  return 0;
}
