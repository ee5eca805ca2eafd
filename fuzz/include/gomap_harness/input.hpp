// gomap_harness/input.hpp — the old name of program_file.hpp, kept so that
// code including it still builds; include program_file.hpp instead.
#pragma once

#include "gomap_harness/program_file.hpp"
