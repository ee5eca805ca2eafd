// map_struct: a user struct key {double, std::string} with its own hash and ==
// and no KeyTraits specialisation (NaN payloads, +-0, +-inf, long labels).
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::StructTarget)
