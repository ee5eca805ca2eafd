// map_test_access.hpp — a backdoor into gomap::Map for the engine tests.
//
// Tests use it to look at the raw structure (tophash bytes, chains, flags) and
// to corrupt it on purpose, to prove that check_invariants() notices. It lives
// with the tests and is not installed; nothing in the engine depends on it.
// The constants (tophash states, header flags) are the map's own
// (gomap::detail::MapConstants), reached as MapTestAccess::kEmptyRest etc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gomap/map.hpp"

namespace gomap {

struct MapTestAccess : detail::MapConstants {
  // Tophash byte of `slot` in the `chain_index`-th bucket of the chain that
  // starts at `bucket` of the current (old=false) or old (old=true) array.
  template <class M>
  static std::uint8_t& tophash(M& m, std::size_t bucket, unsigned slot, std::size_t chain_index = 0, bool old = false) {
    auto* b = chain_bucket(m, bucket, chain_index, old);
    return b->tophash[slot];
  }
  // Number of buckets in the chain starting at `bucket` (1 = no overflow).
  template <class M>
  static std::size_t chain_length(const M& m, std::size_t bucket, bool old = false) {
    auto* t = old ? m.oldbuckets_ : m.buckets_;
    if (t == nullptr) return 0;
    std::size_t n = 0;
    for (auto* b = t->bucket(bucket); b != nullptr; b = b->overflow) ++n;
    return n;
  }
  template <class M>
  static auto& key(M& m, std::size_t bucket, unsigned slot, std::size_t chain_index = 0, bool old = false) {
    return M::key_at(chain_bucket(m, bucket, chain_index, old), slot);
  }
  // The lookup filter word of `bucket` (see Table::filter in map.hpp).
  template <class M>
  static std::uint16_t& filter(M& m, std::size_t bucket, bool old = false) {
    auto* t = old ? m.oldbuckets_ : m.buckets_;
    return t->filter[bucket];
  }
  // Records `top` in the filter of `bucket`, as an insertion would: tests that
  // plant entries by hand call it so that only the invariant they break breaks.
  template <class M>
  static void note_filter(M& m, std::size_t bucket, std::uint8_t top, bool old = false) {
    (old ? m.oldbuckets_ : m.buckets_)->note(bucket, top);
  }
  template <class M>
  static void set_count(M& m, std::size_t n) {
    m.count_ = n;
  }
  template <class M>
  static std::uint64_t hash_seed(const M& m) {
    return m.hash0_;
  }
  template <class M>
  static std::uint64_t hash_of(const M& m, const typename M::key_type& k) {
    return m.seeded_hash(k);
  }
  template <class M>
  static std::uint8_t flags(const M& m) {
    return m.flags_.load();
  }
  template <class M>
  static void set_flags(M& m, std::uint8_t f) {
    m.flags_.store(f);
  }
  template <class M>
  static std::uint16_t noverflow(const M& m) {
    return m.noverflow_;
  }
  // Runs `fn()` with the map's hashWriting flag set, as if another thread
  // were in the middle of a write.
  template <class M, class F>
  static void while_writing(M& m, F&& fn) {
    m.flags_.fetch_or(M::kHashWriting);
    fn();
    m.flags_.fetch_and(static_cast<std::uint8_t>(~M::kHashWriting));
  }

 private:
  template <class M>
  static auto* chain_bucket(M& m, std::size_t bucket, std::size_t chain_index, bool old) {
    auto* t = old ? m.oldbuckets_ : m.buckets_;
    auto* b = t->bucket(bucket);
    while (chain_index-- > 0) b = b->overflow;
    return b;
  }
};

}  // namespace gomap
