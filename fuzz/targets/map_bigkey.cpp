// map_bigkey: 160-byte keys and big values, both stored indirectly.
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::BigKeyTarget)
