// absl_u64: map_u64's programs on absl::flat_hash_map (stl iteration rules).
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::AbslU64Target)
