// gomap/sync_policy.hpp — where the concurrent maps get their atomics and
// locks.
//
// gomap::SyncMap and gomap::ShardedMap take one more template argument, a
// sync policy, that names the atomic, mutex and shared-mutex types they use.
// The default, StdSync, names exactly std::atomic, std::mutex and
// std::shared_mutex, so a map with the default policy is the same code as one
// written against the std types directly: the policy costs nothing and user
// code that never names it compiles unchanged.
//
// Why a policy at all: a test harness can substitute types that behave like
// the std ones but hand control to a scheduler at every atomic operation and
// every lock, unlock and try-lock. Running the map's threads one at a time
// under such a scheduler makes an interleaving a value that can be chosen,
// recorded and replayed. The engine itself knows nothing of any scheduler;
// it only promises to reach its atomics and locks through the policy.
//
// A policy P provides
//   template <class T> using atomic = ...;  // std::atomic's interface for the
//                                            // operations the maps use
//   using mutex = ...;                      // Lockable (lock, unlock, try_lock)
//   using shared_mutex = ...;               // SharedLockable as well
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

namespace gomap {

struct StdSync {
  template <class T>
  using atomic = std::atomic<T>;
  using mutex = std::mutex;
  using shared_mutex = std::shared_mutex;
};

template <class P>
concept SyncPolicy = requires(typename P::mutex& m, typename P::shared_mutex& s,
                              typename P::template atomic<std::uint64_t>& a) {
  m.lock();
  m.unlock();
  { m.try_lock() } -> std::convertible_to<bool>;
  s.lock_shared();
  s.unlock_shared();
  s.lock();
  s.unlock();
  { a.load(std::memory_order_acquire) } -> std::convertible_to<std::uint64_t>;
  { a.fetch_add(std::uint64_t(1), std::memory_order_relaxed) } -> std::convertible_to<std::uint64_t>;
};

static_assert(SyncPolicy<StdSync>);

}  // namespace gomap
