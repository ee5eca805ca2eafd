// adapters/absl_adapter.hpp — absl::flat_hash_map under the stl rules.
#pragma once

#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "adapters/stl_adapter.hpp"

namespace gomap_harness {

template <class T>
class AbslFlatAdapter : public StlAdapter<T, absl::flat_hash_map<typename T::Key, typename T::Value, SeededHash<T>>> {
 public:
  using StlAdapter<T, absl::flat_hash_map<typename T::Key, typename T::Value, SeededHash<T>>>::StlAdapter;
  static constexpr std::string_view engine = "absl::flat_hash_map";
};

}  // namespace gomap_harness
