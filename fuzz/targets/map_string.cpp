// map_string: empty, short, SSO-edge and 200+ byte string keys and values.
#include "gomap_harness/fuzz_target.hpp"

GOMAP_FUZZ_TARGET(gomap_harness::StringTarget)
