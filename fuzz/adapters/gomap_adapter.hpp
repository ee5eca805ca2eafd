// adapters/gomap_adapter.hpp — gomap::Map behind the adapter interface, under
// Go's rules. It also hands the executor the map itself (raw()), since the
// executor checks more of gomap than any adapter offers: the growth rule on
// every write, compact(), the copy and move semantics, and iterator copy and
// move against the map's live-iterator count.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include <gomap/map.hpp>

#include "adapters/engine_adapter.hpp"

namespace gomap_harness {

template <class T>
class GomapAdapter {
 public:
  using Key = typename T::Key;
  using Map = gomap::Map<Key, typename T::Value, typename T::Hash>;
  using Cursor = typename Map::Iterator;
  static constexpr IterRules rules = IterRules::Go;
  static constexpr std::string_view engine = "gomap";
  static constexpr OpSupport support(OpKind) { return OpSupport::Run; }

  GomapAdapter(std::uint64_t hint, std::uint8_t seed, unsigned domain)
      : m_(static_cast<std::size_t>(hint), gomap::Seed{seed}, T::make_hash(domain)) {}

  void set(const Key& k, std::uint64_t v) { m_.insert_or_assign(k, T::value(v)); }
  void incr(const Key& k) { T::increment(m_[k]); }
  std::optional<std::uint64_t> get(const Key& k) const {
    const auto* v = m_.find(k);
    if (!v) return std::nullopt;
    return T::value_code(*v);
  }
  bool erase(const Key& k) { return m_.erase(k); }
  void clear() { m_.clear(); }
  std::size_t size() const { return m_.size(); }
  template <class F>
  void for_each(F&& f) const {
    for (auto&& [k, v] : m_) f(k, T::value_code(v));
  }
  Cursor begin() { return m_.begin(); }
  void next(Cursor& c) { ++c; }
  bool done(const Cursor& c) const { return c.done(); }
  const Key& key(const Cursor& c) const { return c.key(); }
  std::uint64_t value(const Cursor& c) const { return T::value_code(c.value()); }

  gomap::Stats stats() const { return m_.stats(); }
  void check_invariants() const { m_.check_invariants(); }
  Map& raw() { return m_; }
  const Map& raw() const { return m_; }

 private:
  Map m_;
};

}  // namespace gomap_harness
