// reference_map.hpp — the obviously correct concurrent map the differential
// tests compare SyncMap and ShardedMap with: one mutex around a
// std::unordered_map (the role Go's RWMutexMap plays in sync's tests).
#pragma once

#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gomap_test {

template <class K, class V>
class ReferenceMap {
 public:
  std::optional<V> load(const K& k) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = m_.find(k);
    if (it == m_.end()) return std::nullopt;
    return it->second;
  }
  void store(const K& k, V v) {
    std::lock_guard<std::mutex> l(mu_);
    m_.insert_or_assign(k, std::move(v));
  }
  std::pair<V, bool> load_or_store(const K& k, V v) {
    std::lock_guard<std::mutex> l(mu_);
    auto [it, inserted] = m_.try_emplace(k, std::move(v));
    return {it->second, !inserted};
  }
  std::optional<V> load_and_delete(const K& k) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = m_.find(k);
    if (it == m_.end()) return std::nullopt;
    std::optional<V> out(std::move(it->second));
    m_.erase(it);
    return out;
  }
  void erase(const K& k) {
    std::lock_guard<std::mutex> l(mu_);
    m_.erase(k);
  }
  std::optional<V> swap(const K& k, V v) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = m_.find(k);
    if (it == m_.end()) {
      m_.emplace(k, std::move(v));
      return std::nullopt;
    }
    return std::exchange(it->second, std::move(v));
  }
  bool compare_and_swap(const K& k, const V& old, V nv) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = m_.find(k);
    if (it == m_.end() || !(it->second == old)) return false;
    it->second = std::move(nv);
    return true;
  }
  bool compare_and_delete(const K& k, const V& old) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = m_.find(k);
    if (it == m_.end() || !(it->second == old)) return false;
    m_.erase(it);
    return true;
  }
  // Like Go's RWMutexMap.Range: copy the keys, then load each one.
  template <class F>
  void range(F&& fn) {
    std::vector<K> keys;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& kv : m_) keys.push_back(kv.first);
    }
    for (const K& k : keys) {
      std::optional<V> v = load(k);
      if (!v) continue;
      if (!fn(k, *v)) return;
    }
  }
  void clear() {
    std::lock_guard<std::mutex> l(mu_);
    m_.clear();
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> l(mu_);
    return m_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<K, V> m_;
};

}  // namespace gomap_test
