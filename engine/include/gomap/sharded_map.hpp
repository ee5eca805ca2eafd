// gomap/sharded_map.hpp — a concurrent map made of N gomap::Map shards, each
// under its own reader-writer lock.
//
// The same methods as gomap::SyncMap (load, store, load_or_store,
// load_and_delete, erase, swap, compare_and_swap, compare_and_delete, range,
// clear) plus size(). A key's shard is picked by a hash seeded per map and
// independent of the shards' own seeds. Lookups take the shard's lock
// shared; writes take it exclusive; so every operation on one key is atomic
// (linearizable), and operations on keys of different shards run in
// parallel.
//
// Whole-map operations are not atomic across shards; they visit the shards
// one at a time:
//  * size() adds up the shards' sizes, each read under its lock: the result
//    lies between the number of keys present throughout the call and the
//    number present at some moment during it.
//  * clear() empties the shards one after another: per key it is an erase
//    at some moment during the call.
//  * range(fn), with Go sync.Map.Range's guarantees: no key is yielded twice;
//    each yielded value was the key's value at some moment during the call
//    (the value current when the key is reached, not a snapshot); a key
//    present for the whole call is yielded (unless fn stops early); keys
//    added during the call may or may not be yielded. For each shard it
//    copies the keys under the shared lock, releases it, and then, for each
//    key, looks it up again (shared lock, released before fn is called),
//    skipping keys erased in the meantime. fn therefore runs with no lock
//    held and may call any method, erase and clear included, without
//    deadlock. Keys that are not equal to themselves (NaN) cannot be looked
//    up again; for them the value copied with the key is yielded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "gomap/detail/random.hpp"
#include "gomap/hash.hpp"
#include "gomap/map.hpp"
#include "gomap/sync_policy.hpp"

namespace gomap {

// Sync: where the locks and the range-start counter come from
// (gomap/sync_policy.hpp); the default is the std types.
template <class K, class V, class Hash = gomap::Hash<K>, class Eq = gomap::Equal<K>, SyncPolicy Sync = StdSync>
class ShardedMap {
  using Inner = Map<K, V, Hash, Eq>;
  using SharedMutex = typename Sync::shared_mutex;
  struct alignas(64) Shard {
    mutable SharedMutex mu;
    Inner m;
  };
  using WriteLock = std::unique_lock<SharedMutex>;
  using ReadLock = std::shared_lock<SharedMutex>;

 public:
  using key_type = K;
  using mapped_type = V;

  static constexpr std::size_t kDefaultShards = 16;

  explicit ShardedMap(std::size_t shards = kDefaultShards, Hash hash = Hash{}, Eq eq = Eq{})
      : ShardedMap(shards, Seed{detail::fresh_seed()}, std::move(hash), std::move(eq)) {}
  // Seeded: the shard of each key, the shards' own seeds and the order in
  // which range visits shards all derive from `seed`, so the same operations
  // in the same order behave the same in every run (see "Determinism" in
  // gomap/map.hpp).
  ShardedMap(std::size_t shards, Seed seed, Hash hash = Hash{}, Eq eq = Eq{})
      : n_(shards == 0 ? 1 : shards),
        seed_(detail::splitmix_mix(seed.value)),
        hash_(std::move(hash)),
        eq_(std::move(eq)),
        range_starts_(detail::splitmix_mix(seed.value ^ kRangeStream)) {
    shards_ = std::make_unique<Shard[]>(n_);
    for (std::size_t i = 0; i < n_; ++i)
      shards_[i].m = Inner(0, Seed{detail::splitmix_mix(seed.value + (i + 1) * detail::kSplitmixStep)}, hash_, eq_);
  }
  ShardedMap(const ShardedMap&) = delete;
  ShardedMap& operator=(const ShardedMap&) = delete;

  std::size_t shard_count() const noexcept { return n_; }

  std::optional<V> load(const K& key) const {
    const Shard& s = shard_for(key);
    ReadLock lock(s.mu);
    if (const V* v = s.m.find(key)) return *v;
    return std::nullopt;
  }

  void store(const K& key, V value) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    s.m.insert_or_assign(key, std::move(value));
  }

  std::optional<V> swap(const K& key, V value) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    if (V* v = s.m.find(key)) return std::exchange(*v, std::move(value));
    s.m.insert_or_assign(key, std::move(value));
    return std::nullopt;
  }

  std::pair<V, bool> load_or_store(const K& key, V value) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    if (const V* v = s.m.find(key)) return {*v, true};
    s.m.insert_or_assign(key, value);
    return {std::move(value), false};
  }

  std::optional<V> load_and_delete(const K& key) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    V* v = s.m.find(key);
    if (v == nullptr) return std::nullopt;
    std::optional<V> out(std::move(*v));
    s.m.erase(key);
    return out;
  }

  void erase(const K& key) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    s.m.erase(key);
  }

  bool compare_and_swap(const K& key, const V& old, V new_) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    V* v = s.m.find(key);
    if (v == nullptr || !(*v == old)) return false;
    *v = std::move(new_);
    return true;
  }

  bool compare_and_delete(const K& key, const V& old) {
    Shard& s = shard_for(key);
    WriteLock lock(s.mu);
    const V* v = s.m.find(key);
    if (v == nullptr || !(*v == old)) return false;
    s.m.erase(key);
    return true;
  }

  // fn(const K&, const V&) -> bool (false stops); see the essay.
  template <class F>
  void range(F&& fn) {
    // The order is unspecified, as in Go: each range starts at the shard the
    // next draw of this map's own stream names.
    const std::uint64_t draw = range_starts_.fetch_add(detail::kSplitmixStep, std::memory_order_relaxed);
    const std::size_t start = detail::splitmix_mix(draw) % n_;
    std::vector<std::pair<K, std::optional<V>>> keys;
    for (std::size_t j = 0; j < n_; ++j) {
      Shard& s = shards_[(start + j) % n_];
      keys.clear();
      {
        ReadLock lock(s.mu);
        keys.reserve(s.m.size());
        for (auto it = std::as_const(s.m).cbegin(); it != s.m.cend(); ++it) {
          const K& k = it.key();
          if (eq_(k, k)) keys.emplace_back(k, std::nullopt);
          else keys.emplace_back(k, it.value());  // cannot be looked up again
        }
      }
      for (auto& [k, copied] : keys) {
        std::optional<V> v;
        if (copied) {
          v = std::move(copied);
        } else {
          ReadLock lock(s.mu);
          const V* cur = std::as_const(s.m).find(k);
          if (cur == nullptr) continue;  // erased since the keys were copied
          v.emplace(*cur);
        }
        if constexpr (std::is_convertible_v<std::invoke_result_t<F&, const K&, const V&>, bool>) {
          if (!fn(std::as_const(k), std::as_const(*v))) return;
        } else {
          fn(std::as_const(k), std::as_const(*v));
        }
      }
    }
  }

  void clear() {
    for (std::size_t i = 0; i < n_; ++i) {
      WriteLock lock(shards_[i].mu);
      shards_[i].m.clear();
    }
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      ReadLock lock(shards_[i].mu);
      n += shards_[i].m.size();
    }
    return n;
  }

 private:
  std::uint64_t shard_hash(const K& k) const { return detail::seeded_hash(hash_, k, seed_); }
  // The high half of hash * n: uses the hash's top bits, which the shards'
  // own (differently seeded) hashes do not correlate with.
  std::size_t shard_index(const K& k) const {
    return static_cast<std::size_t>((static_cast<unsigned __int128>(shard_hash(k)) * n_) >> 64);
  }
  Shard& shard_for(const K& k) const { return shards_[shard_index(k)]; }

  static constexpr std::uint64_t kRangeStream = 0x72616e6765ull;  // "range": keeps the two streams apart

  std::size_t n_;
  std::uint64_t seed_;
  Hash hash_;
  Eq eq_;
  typename Sync::template atomic<std::uint64_t> range_starts_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace gomap
