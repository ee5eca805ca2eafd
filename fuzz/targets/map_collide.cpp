// map_collide: degenerate injected hashes: long overflow chains, same-size growth.
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::CollideTarget)
