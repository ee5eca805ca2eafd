// boost_u64: map_u64's programs on boost::unordered_flat_map (stl iteration rules).
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::BoostU64Target)
