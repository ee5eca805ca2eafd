// adapters/std_adapter.hpp — std::unordered_map under the stl rules.
#pragma once

#include <string_view>
#include <unordered_map>

#include "adapters/stl_adapter.hpp"

namespace gomap_harness {

template <class T>
class StdUnorderedAdapter
    : public StlAdapter<T, std::unordered_map<typename T::Key, typename T::Value, SeededHash<T>>> {
 public:
  using StlAdapter<T, std::unordered_map<typename T::Key, typename T::Value, SeededHash<T>>>::StlAdapter;
  static constexpr std::string_view engine = "std::unordered_map";
};

}  // namespace gomap_harness
