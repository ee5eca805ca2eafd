// adapters/stl_adapter.hpp — any std::unordered_map-like container behind the
// adapter interface, under the stl rules (engine_adapter.hpp): the program's
// iterator slots become container iterators, and "erase the key the iterator
// yielded" becomes erase through the iterator.
//
// The standard's erase(iterator) leaves the iterator at the entry after the
// erased one, which the program has not seen yet: the cursor remembers that
// it stands on an entry not yet yielded, and the next advance yields it
// instead of stepping past it. Iterators to other entries stay valid (all
// three containers promise that for erase), so they are left alone.
//
// The target's hash takes a seed (gomap's Hash(k, seed)); the adapter binds
// the program's seed into it, so the run is the same every time.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <utility>

#include "adapters/engine_adapter.hpp"

namespace gomap_harness {

// The target's seeded hash as the one-argument hasher containers take.
template <class T>
struct SeededHash {
  typename T::Hash hash;
  std::uint64_t seed = 0;
  std::size_t operator()(const typename T::Key& k) const noexcept { return static_cast<std::size_t>(hash(k, seed)); }
};

template <class T, class Container>
class StlAdapter {
 public:
  using Key = typename T::Key;
  struct Cursor {
    typename Container::iterator it;
    bool unseen = false;  // it stands on the entry after an erased one (or the end), not yet reported
  };
  static constexpr IterRules rules = IterRules::Stl;
  // Everything but compact(), which is gomap's own extension.
  static constexpr OpSupport support(OpKind k) { return k == OpKind::Compact ? OpSupport::Skip : OpSupport::Run; }

  StlAdapter(std::uint64_t hint, std::uint8_t seed, unsigned domain)
      : m_(0, SeededHash<T>{T::make_hash(domain), seed}) {
    // Go's absurd hints would make reserve() throw or allocate terabytes: a
    // hint is a hint, so only reasonable ones are passed on.
    if (hint <= kMaxReserve) m_.reserve(static_cast<std::size_t>(hint));
  }

  void set(const Key& k, std::uint64_t v) { m_.insert_or_assign(k, T::value(v)); }
  void incr(const Key& k) { T::increment(m_[k]); }
  std::optional<std::uint64_t> get(const Key& k) const {
    const auto it = m_.find(k);
    if (it == m_.end()) return std::nullopt;
    return T::value_code(it->second);
  }
  bool erase(const Key& k) { return m_.erase(k) != 0; }
  void clear() { m_.clear(); }
  std::size_t size() const { return m_.size(); }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [k, v] : m_) f(k, T::value_code(v));
  }
  Cursor begin() { return Cursor{m_.begin(), false}; }
  void next(Cursor& c) {
    if (c.unseen) c.unseen = false;
    else ++c.it;
  }
  bool done(const Cursor& c) const { return !c.unseen && c.it == m_.end(); }
  const Key& key(const Cursor& c) const { return c.it->first; }
  std::uint64_t value(const Cursor& c) const { return T::value_code(c.it->second); }
  // Erases the entry the cursor stands on; the cursor moves to the next one
  // or to the end, which its next advance reports (stepping past the end
  // would be undefined behaviour).
  void erase_at(Cursor& c) {
    const auto victim = c.it;
    ++c.it;
    m_.erase(victim);
    c.unseen = true;
  }

 protected:
  Container& container() { return m_; }

 private:
  static constexpr std::uint64_t kMaxReserve = 1u << 16;
  Container m_;
};

}  // namespace gomap_harness
