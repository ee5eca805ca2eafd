// map_u64: dense and wide u64 keys.
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::U64Target)
