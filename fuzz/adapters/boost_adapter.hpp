// adapters/boost_adapter.hpp — boost::unordered_flat_map under the stl rules.
#pragma once

#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "adapters/stl_adapter.hpp"

namespace gomap_harness {

template <class T>
class BoostFlatAdapter
    : public StlAdapter<T, boost::unordered_flat_map<typename T::Key, typename T::Value, SeededHash<T>>> {
 public:
  using StlAdapter<T, boost::unordered_flat_map<typename T::Key, typename T::Value, SeededHash<T>>>::StlAdapter;
  static constexpr std::string_view engine = "boost::unordered_flat_map";
};

}  // namespace gomap_harness
