// gomap/detail/map_iterator.hpp — gomap::Map's iterator (Go: hiter,
// mapiterinit, mapiternext), as the essay at the top of gomap/map.hpp
// describes it under "Iteration", "Keeping memory alive" and "Clearing and
// replacing under an iterator". Included by gomap/map.hpp; not on its own.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <type_traits>
#include <utility>

#include "gomap/map.hpp"

namespace gomap {

template <class K, class V, class Hash, class Eq>
template <bool Const>
class Map<K, V, Hash, Eq>::BasicIterator {
  // The bucket an old bucket's entries are filtered for while it feeds a
  // doubling growth, or kNoCheck when every entry of the chain is yielded.
  static constexpr std::size_t kNoCheck = std::numeric_limits<std::size_t>::max();

  friend class Map;
  friend struct gomap::MapTestAccess;
  using MapPtr = std::conditional_t<Const, const Map*, Map*>;
  using ValueRef = std::conditional_t<Const, const V&, V&>;

 public:
  using value_type = std::pair<const K, V>;
  using reference = std::pair<const K&, ValueRef>;
  using difference_type = std::ptrdiff_t;

  BasicIterator() = default;
  BasicIterator(const BasicIterator& o) { copy_from(o); }
  BasicIterator(BasicIterator&& o) noexcept { steal(o); }
  BasicIterator& operator=(const BasicIterator& o) {
    if (this != &o) {
      finish();
      copy_from(o);
    }
    return *this;
  }
  BasicIterator& operator=(BasicIterator&& o) noexcept {
    if (this != &o) {
      finish();
      steal(o);
    }
    return *this;
  }
  ~BasicIterator() { finish(); }

  const K& key() const noexcept { return *key_; }
  ValueRef value() const noexcept { return *value_; }
  reference operator*() const noexcept { return reference(*key_, *value_); }
  BasicIterator& operator++() {
    if (!next_in_bucket()) next();
    return *this;
  }
  bool done() const noexcept { return key_ == nullptr; }
  explicit operator bool() const noexcept { return key_ != nullptr; }
  friend bool operator==(const BasicIterator& it, std::default_sentinel_t) noexcept { return it.key_ == nullptr; }

 private:
  explicit BasicIterator(MapPtr h) {
    if (h->count_ == 0) return;  // an empty map yields nothing, even if filled during the loop
    h_ = h;
    h->live_iterators_.fetch_add(1, std::memory_order_relaxed);
    pos_.clear_seq_ = h->clear_seq_;
    pos_.contents_epoch_ = h->contents_epoch_;
    pos_.B_ = h->B_;
    snapshot_ = retain(h->buckets_);
    const std::uint64_t r = h->next_random();
    pos_.start_bucket_ = r & bucket_mask(pos_.B_);
    pos_.offset_ = static_cast<std::uint8_t>((r >> pos_.B_) & (kBucketSlots - 1));
    pos_.bucket_ = pos_.start_bucket_;
    if ((h->flags_.load(std::memory_order_relaxed) & (kIterator | kOldIterator)) != (kIterator | kOldIterator)) {
      h->flags_.fetch_or(kIterator | kOldIterator, std::memory_order_relaxed);
    }
    next();
  }

  // The cursor is plain data (Position), copied whole; only the references
  // (map registration, tables, the entry) need care.
  void copy_from(const BasicIterator& o) {
    h_ = o.h_;
    if (h_) h_->live_iterators_.fetch_add(1, std::memory_order_relaxed);
    snapshot_ = retain(o.snapshot_);
    current_ = retain(o.current_);
    key_ = o.key_;
    value_ = o.value_;
    pos_ = o.pos_;
  }
  void steal(BasicIterator& o) noexcept {
    h_ = std::exchange(o.h_, nullptr);
    snapshot_ = std::exchange(o.snapshot_, nullptr);
    current_ = std::exchange(o.current_, nullptr);
    key_ = std::exchange(o.key_, nullptr);
    value_ = o.value_;
    pos_ = o.pos_;
  }
  void finish() noexcept {
    key_ = nullptr;
    value_ = nullptr;
    pos_.bptr_ = nullptr;
    release(std::exchange(current_, nullptr));
    release(std::exchange(snapshot_, nullptr));
    if (h_) std::exchange(h_, nullptr)->live_iterators_.fetch_sub(1, std::memory_order_release);
  }
  void stand_in(Table* t) noexcept {
    if (current_ != t) {
      release(current_);
      current_ = retain(t);
    }
  }

  // The common step, small enough to inline into operator++: the next
  // entry of the bucket we stand in, read in place. No clear since the start
  // means no table we hold was emptied (clear() bumps clear_seq_ whenever it
  // empties one), and kNoCheck means every entry of the chain is ours. An
  // evacuated entry, the end of the bucket, a write in progress or a replaced
  // map take next().
  bool next_in_bucket() noexcept {
    const Map* const h = h_;
    if (h == nullptr || pos_.bptr_ == nullptr || pos_.check_bucket_ != kNoCheck || pos_.clear_seq_ != h->clear_seq_ ||
        pos_.contents_epoch_ != h->contents_epoch_ || (h->flags_.load(std::memory_order_relaxed) & kHashWriting)) {
      return false;
    }
    Bucket* const b = pos_.bptr_;
    const std::uint64_t pending = pending_slots(b, pos_.i_);
    if (pending == 0) return false;
    const unsigned i = detail::byte_index(pending);
    const unsigned offi = (i + pos_.offset_) & (kBucketSlots - 1);
    bool readable = b->tophash[offi] >= kMinTopHash;
    if constexpr (kIndirectKey) readable = readable && *key_slot(b, offi) != nullptr;
    if (!readable) return false;
    key_ = &key_at(b, offi);
    value_ = &value_at(b, offi);
    pos_.i_ = static_cast<std::uint8_t>(i + 1);
    return true;
  }

  void next() {
    if (!h_) return;
    MapPtr h = h_;
    if (h->flags_.load(std::memory_order_relaxed) & kHashWriting) {
      detail::fatal("concurrent map iteration and map write");
    }
    if (pos_.contents_epoch_ != h->contents_epoch_) {
      finish();  // the map object was moved from, assigned to or swapped
      return;
    }
    std::size_t bucket = pos_.bucket_;
    Bucket* b = pos_.bptr_;
    unsigned i = pos_.i_;
    std::size_t check_bucket = pos_.check_bucket_;
    for (;;) {
      if (b == nullptr) {
        if (bucket == pos_.start_bucket_ && pos_.wrapped_) {
          finish();
          return;
        }
        if (h->growing() && pos_.B_ == h->B_) {
          // Started during this growth and it is not done: the old bucket
          // feeding `bucket` holds its entries until it is evacuated.
          const std::size_t oldbucket = bucket & h->old_bucket_mask();
          b = h->oldbuckets_->bucket(oldbucket);
          if (!evacuated(b)) {
            // A same-size growth feeds each bucket from one old bucket
            // whole; a doubling one splits it between two halves. Decided
            // here, once: the map may stop growing while we stand in it.
            check_bucket = h->same_size_grow() ? kNoCheck : bucket;
            stand_in(h->oldbuckets_);
          } else {
            b = snapshot_->bucket(bucket);
            check_bucket = kNoCheck;
            stand_in(snapshot_);
          }
        } else {
          b = snapshot_->bucket(bucket);
          check_bucket = kNoCheck;
          stand_in(snapshot_);
        }
        ++bucket;
        if (bucket == (std::size_t(1) << pos_.B_)) {
          bucket = 0;
          pos_.wrapped_ = true;
        }
        i = 0;
      }
      if (current_->emptied_by_clear.load(std::memory_order_relaxed)) {
        b = nullptr;  // Go's mapclear left every slot of this chain emptyRest
        continue;
      }
      for (std::uint64_t pending = pending_slots(b, i); pending != 0; pending &= pending - 1) {
        i = detail::byte_index(pending);
        const unsigned offi = (i + pos_.offset_) & (kBucketSlots - 1);
        const std::uint8_t top = b->tophash[offi];
        if constexpr (kIndirectKey) {
          // Moved away by a map this iterator no longer follows (the map
          // it started on was moved from): nothing left to yield here.
          if (*key_slot(b, offi) == nullptr) continue;
        }
        K& k = key_at(b, offi);
        const bool reflexive = kReflexive || h->eq_(k, k);
        if (check_bucket != kNoCheck) {
          // Only the entries of this old bucket that go to `bucket`'s half
          // (its high bit, as the old bucket fixes the lower ones). An
          // evacuated entry's mark records where it went: hashing its key
          // again could disagree, as the seed changes when the map
          // empties. A live entry was placed under the current seed (an
          // emptied map holds none, and a cleared table is not read); a
          // NaN goes by its tophash's low bit, as evacuate() sends it.
          std::size_t high;
          if (top == kEvacuatedX || top == kEvacuatedY) {
            high = top - kEvacuatedX;
          } else if (reflexive) {
            high = (h->seeded_hash(k) >> (pos_.B_ - 1)) & 1;
          } else {
            high = top & 1;
          }
          if (high != (check_bucket >> (pos_.B_ - 1))) continue;
        }
        if (pos_.clear_seq_ == h->clear_seq_ && ((top != kEvacuatedX && top != kEvacuatedY) || !reflexive)) {
          key_ = &k;
          value_ = &value_at(b, offi);
        } else {
          // Moved, or the map was cleared: only the current map knows
          // whether the key is still there and what its value is.
          const auto [rb, ri] = h->access_k(k);
          if (rb == nullptr) continue;
          key_ = &key_at(rb, ri);
          value_ = &value_at(rb, ri);
        }
        pos_.bucket_ = bucket;
        pos_.bptr_ = b;
        pos_.i_ = i + 1;
        pos_.check_bucket_ = check_bucket;
        return;
      }
      b = b->overflow;
      i = 0;
    }
  }

  // The slots of `b` from the i-th in visiting order on that hold an entry
  // (filled or evacuatedX/Y): one high bit per byte, rotated so that byte j
  // is the j-th slot in visiting order, (j + offset) mod 8. Picking them with
  // countr_zero costs no branch per empty slot.
  std::uint64_t pending_slots(const Bucket* b, unsigned i) const noexcept {
    if (i >= kBucketSlots) return 0;
    const std::uint64_t word = tophash_word(b);
    const std::uint64_t empty = detail::exact_zero_bytes(word) | detail::exact_zero_bytes(word ^ detail::kByteOnes) |
                                detail::exact_zero_bytes(word ^ (detail::kByteOnes * kEvacuatedEmpty));
    return std::rotr(~empty & detail::kByteHighs, 8 * pos_.offset_) & (~std::uint64_t(0) << (8 * i));
  }

  // Where the iteration stands: plain data, copied whole by copy and move.
  struct Position {
    Bucket* bptr_ = nullptr;          // the bucket of the last entry yielded
    std::size_t start_bucket_ = 0;
    std::size_t bucket_ = 0;          // the next bucket to visit
    std::size_t check_bucket_ = kNoCheck;
    std::uint64_t clear_seq_ = 0;     // the map's clear_seq_ when the iterator started
    std::uint64_t contents_epoch_ = 0;
    std::uint8_t B_ = 0;              // Go: it.B
    std::uint8_t offset_ = 0;         // random slot offset
    std::uint8_t i_ = 0;              // the next slot
    bool wrapped_ = false;
  };

  MapPtr h_ = nullptr;
  Table* snapshot_ = nullptr;  // Go: it.buckets
  Table* current_ = nullptr;   // the table pos_.bptr_ lies in
  const K* key_ = nullptr;
  std::conditional_t<Const, const V*, V*> value_ = nullptr;
  Position pos_;
};

}  // namespace gomap
