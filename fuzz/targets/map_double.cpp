// map_double: NaN, +-0, +-inf, subnormal and integer double keys.
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::DoubleTarget)
