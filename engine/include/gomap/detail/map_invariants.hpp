// gomap/detail/map_invariants.hpp — Map::check_invariants(): the executable
// form of the rules in the essay at the top of gomap/map.hpp. Each check
// names the invariant it enforces; the first violation found throws
// gomap::InvariantError. Included by gomap/map.hpp; not on its own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "gomap/map.hpp"

namespace gomap {

template <class K, class V, class Hash, class Eq>
void Map<K, V, Hash, Eq>::check_invariants() const {
  auto fail = [](const char* invariant, const std::string& where, const std::string& detail) {
    throw InvariantError(std::string("gomap invariant '") + invariant + "' violated at " + where + ": " + detail);
  };
  auto at = [](const char* table, std::size_t bucket, std::size_t chain, int slot) {
    std::string w = std::string(table) + " bucket " + std::to_string(bucket);
    if (chain != 0) w += " overflow#" + std::to_string(chain);
    if (slot >= 0) w += " slot " + std::to_string(slot);
    return w;
  };

  const std::uint8_t flags = flags_.load(std::memory_order_relaxed);
  if (flags & kHashWriting) fail("no-write-in-progress", "header", "hashWriting flag is set");
  if (buckets_ == nullptr) {
    if (count_ != 0) fail("count-matches-slots", "header", "no bucket array but count=" + std::to_string(count_));
    if (oldbuckets_ != nullptr) fail("growth-has-new-array", "header", "oldbuckets without buckets");
    return;
  }
  if (buckets_->B != B_ || buckets_->nbuckets != (std::size_t(1) << B_)) {
    fail("array-size-is-2^B", "header",
         "B=" + std::to_string(B_) + " but array has " + std::to_string(buckets_->nbuckets));
  }
  const bool grow = growing();
  const bool same_size = (flags & kSameSizeGrow) != 0;
  if (!grow && same_size) fail("same-size-flag-only-while-growing", "header", "sameSizeGrow set without oldbuckets");
  std::size_t old_count = 0;
  if (grow) {
    if (!same_size && B_ == 0) fail("old-array-is-half", "header", "doubling growth at B=0");
    old_count = same_size ? (std::size_t(1) << B_) : (std::size_t(1) << (B_ - 1));
    if (oldbuckets_->nbuckets != old_count) {
      fail("old-array-is-half", "header",
           "oldbuckets has " + std::to_string(oldbuckets_->nbuckets) + " buckets, expected " +
               std::to_string(old_count));
    }
    if (nevacuate_ >= old_count) fail("nevacuate-in-range", "header", "nevacuate=" + std::to_string(nevacuate_));
  }

  std::size_t filled = 0;
  // One chain: the emptyRest rule, key placement, tophash, duplicates.
  auto check_chain = [&](const char* table, const Table* t, Bucket* first, std::size_t x, std::size_t mask) {
    if (tophash_word(first) == 0 && first->overflow == nullptr) return;  // all emptyRest: nothing to check
    bool seen_rest = false;
    std::uint8_t last_non_rest = kEmptyRest;
    std::size_t last_chain = 0;
    int last_slot = -1;
    std::size_t chain = 0;
    for (Bucket* b = first; b != nullptr; b = b->overflow, ++chain) {
      for (unsigned i = 0; i < kBucketSlots; ++i) {
        const std::uint8_t top = b->tophash[i];
        if (top > kEmptyOne && top < kMinTopHash) {
          fail("evacuation-marks-only-in-evacuated-old-buckets", at(table, x, chain, int(i)),
               "tophash=" + std::to_string(top));
        }
        if (top == kEmptyRest) {
          seen_rest = true;
          continue;
        }
        if (seen_rest) {
          fail("nothing-after-emptyRest", at(table, x, chain, int(i)),
               "tophash=" + std::to_string(top) + " follows an emptyRest slot");
        }
        last_non_rest = top;
        last_chain = chain;
        last_slot = int(i);
        if (top == kEmptyOne) continue;
        ++filled;
        if (!t->may_hold(x, top)) {
          fail("filter-covers-chain", at(table, x, chain, int(i)),
               "lookup filter lacks bit " + std::to_string(top & 15) + " of tophash " + std::to_string(top));
        }
        const K& k = key_at(b, i);
        if (!kReflexive && !eq_(k, k)) continue;  // NaN: random hash, no home bucket
        const std::uint64_t hash = seeded_hash(k);
        if ((hash & mask) != x) {
          fail("key-in-its-hash-bucket", at(table, x, chain, int(i)),
               "key hashes to bucket " + std::to_string(hash & mask));
        }
        if (tophash(hash) != top) {
          fail("tophash-matches-hash", at(table, x, chain, int(i)),
               "stored " + std::to_string(top) + ", hash gives " + std::to_string(tophash(hash)));
        }
        std::size_t chain2 = 0;
        bool before = true;  // only compare with earlier slots: each pair once
        for (Bucket* b2 = first; b2 != nullptr && before; b2 = b2->overflow, ++chain2) {
          for (unsigned j = 0; j < kBucketSlots; ++j) {
            if (b2 == b && j == i) {
              before = false;
              break;
            }
            if (b2->tophash[j] == top && eq_(k, key_at(b2, j))) {
              fail("no-duplicate-keys", at(table, x, chain, int(i)), "same key as " + at(table, x, chain2, int(j)));
            }
          }
        }
      }
    }
    if (last_non_rest == kEmptyOne) {
      fail("no-trailing-emptyOne", at(table, x, last_chain, last_slot),
           "the last slot before the emptyRest run is emptyOne (erase skipped the backward walk)");
    }
  };

  const std::size_t mask = bucket_mask(B_);
  for (std::size_t x = 0; x < buckets_->nbuckets; ++x) {
    Bucket* first = buckets_->bucket(x);
    if (grow && (tophash_word(first) != 0 || first->overflow != nullptr)) {
      Bucket* feeder = oldbuckets_->bucket(x & (old_count - 1));
      if (!evacuated(feeder)) {
        for (Bucket* b = first; b != nullptr; b = b->overflow) {
          if (tophash_word(b) != 0) {
            fail("new-bucket-empty-until-evacuated", at("new", x, 0, -1),
                 "old bucket " + std::to_string(x & (old_count - 1)) + " is not evacuated yet");
          }
        }
      }
    }
    check_chain("new", buckets_, first, x, mask);
  }
  if (grow) {
    for (std::size_t y = 0; y < old_count; ++y) {
      Bucket* first = oldbuckets_->bucket(y);
      if (evacuated(first)) {
        std::size_t chain = 0;
        for (Bucket* b = first; b != nullptr; b = b->overflow, ++chain) {
          for (unsigned i = 0; i < kBucketSlots; ++i) {
            const std::uint8_t top = b->tophash[i];
            if (top < kEvacuatedX || top > kEvacuatedEmpty) {
              fail("evacuation-covers-whole-chain", at("old", y, chain, int(i)), "tophash=" + std::to_string(top));
            }
            if (same_size && top == kEvacuatedY) {
              fail("same-size-growth-uses-X-only", at("old", y, chain, int(i)), "evacuatedY");
            }
          }
        }
        continue;
      }
      if (y < nevacuate_) {
        fail("evacuated-below-nevacuate", at("old", y, 0, -1), "nevacuate=" + std::to_string(nevacuate_));
      }
      check_chain("old", oldbuckets_, first, y, old_count - 1);
    }
  }
  if (filled != count_) {
    fail("count-matches-slots", "header",
         "count=" + std::to_string(count_) + " but " + std::to_string(filled) + " filled slots");
  }
  // Growth keeps the load at most 6.5 per bucket, except for the keys added
  // while a growth was already running (no growth starts during another, Go
  // issue 69110): at most one per old bucket, since each write evacuates one.
  const std::size_t load_bound = std::max<std::size_t>(kBucketSlots, load_limit(B_));
  if (count_ > load_bound + (std::size_t(1) << B_)) {
    fail("load-factor-bound", "header",
         "count=" + std::to_string(count_) + " exceeds " + std::to_string(load_bound) + " + 2^B for B=" +
             std::to_string(B_));
  }
  if (B_ < 16 && buckets_->overflow_in_use() < 0xffff && noverflow_ != buckets_->overflow_in_use()) {
    fail("noverflow-counts-overflow-buckets", "header",
         "noverflow=" + std::to_string(noverflow_) + " but " + std::to_string(buckets_->overflow_in_use()) +
             " overflow buckets in use");
  }
}


}  // namespace gomap
