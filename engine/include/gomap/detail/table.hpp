// gomap/detail/table.hpp — the storage of gomap::Map: the constants of Go's
// layout, buckets and their slots, and the reference-counted Table (a bucket
// array with its overflow buckets). The design is the essay at the top of
// gomap/map.hpp ("Layout", "Tophash states", "Keeping memory alive"); this
// file holds no map logic (lookup, growth, iteration live in map.hpp and
// detail/map_iterator.hpp).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace gomap::detail {

// ---- eight tophash bytes at a time, as one 64-bit word (SWAR)
inline constexpr std::uint64_t kByteOnes = 0x0101010101010101ull;
inline constexpr std::uint64_t kByteHighs = 0x8080808080808080ull;

// One bit (the high bit of the byte) per byte of `w` that is zero. Bits above
// the lowest may be false positives (borrow propagation); callers either take
// only the lowest bit or re-check the byte.
inline std::uint64_t zero_bytes(std::uint64_t w) noexcept { return (w - kByteOnes) & ~w & kByteHighs; }
inline std::uint64_t bytes_equal(std::uint64_t w, std::uint8_t b) noexcept { return zero_bytes(w ^ (kByteOnes * b)); }
inline unsigned byte_index(std::uint64_t bits) noexcept { return static_cast<unsigned>(std::countr_zero(bits)) >> 3; }
// Like zero_bytes, but exact in every byte (no carries cross bytes), for
// callers that use every bit of the result.
inline std::uint64_t exact_zero_bytes(std::uint64_t w) noexcept {
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7full;
  return ~(((w & kLow7) + kLow7) | w | kLow7);
}

// The constants of Go's map that do not depend on the key or value type,
// named as in Go (bucketCnt, loadFactorNum/Den, maxKeySize, the tophash
// states, the header flags). gomap::Map takes them from here, and so does the
// tests' backdoor (engine/tests/support/map_test_access.hpp).
struct MapConstants {
  static constexpr unsigned kBucketSlots = 8;
  // Growth starts above kLoadFactorNum / kLoadFactorDen entries per bucket (6.5).
  static constexpr std::size_t kLoadFactorNum = 13;
  static constexpr std::size_t kLoadFactorDen = 2;
  static constexpr std::size_t kMaxInlineSize = 128;

  // Tophash states (see "Tophash states" in gomap/map.hpp).
  static constexpr std::uint8_t kEmptyRest = 0;
  static constexpr std::uint8_t kEmptyOne = 1;
  static constexpr std::uint8_t kEvacuatedX = 2;
  static constexpr std::uint8_t kEvacuatedY = 3;
  static constexpr std::uint8_t kEvacuatedEmpty = 4;
  static constexpr std::uint8_t kMinTopHash = 5;

  // Header flags (Go: iterator, oldIterator, hashWriting, sameSizeGrow).
  static constexpr std::uint8_t kIterator = 1;
  static constexpr std::uint8_t kOldIterator = 2;
  static constexpr std::uint8_t kHashWriting = 4;
  static constexpr std::uint8_t kSameSizeGrow = 8;
};

// The code relies on these relations between the constants; each says where.
using C_ = MapConstants;
static_assert(C_::kBucketSlots == sizeof(std::uint64_t),
              "tophash_word() reads a bucket's tophash bytes as one 64-bit word, and the SWAR helpers "
              "(zero_bytes, bytes_equal, byte_index) scan all of its slots in one step");
static_assert(std::has_single_bit(C_::kBucketSlots),
              "the iterator wraps its slot offset with & (kBucketSlots - 1)");
static_assert(C_::kEmptyRest == 0,
              "a zeroed array (calloc, Table::reset) is all emptyRest, and zero_bytes(word) != 0 finds the "
              "emptyRest that ends a chain");
static_assert(C_::kEmptyOne == 1,
              "zero_bytes(word & ~kByteOnes) finds the first empty slot, emptyRest (0) or emptyOne (1), in "
              "one step; is_empty() is top <= kEmptyOne");
static_assert(C_::kEvacuatedX == C_::kEmptyOne + 1 && C_::kEvacuatedY == C_::kEvacuatedX + 1 &&
                  C_::kEvacuatedEmpty == C_::kEvacuatedY + 1,
              "evacuate() writes kEvacuatedX + half and the iterator reads the half back as top - kEvacuatedX; "
              "evacuated() tests the range (kEmptyOne, kMinTopHash)");
static_assert(C_::kMinTopHash == C_::kEvacuatedEmpty + 1,
              "every value below kMinTopHash is a reserved state, and tophash() lifts a hash byte below it "
              "by adding kMinTopHash, which lands on a filled value");
static_assert(C_::kLoadFactorNum < C_::kBucketSlots * C_::kLoadFactorDen,
              "the average load that triggers growth must be below a full bucket, or chains would grow first");
static_assert((C_::kIterator | C_::kOldIterator | C_::kHashWriting | C_::kSameSizeGrow) == 15 &&
                  std::has_single_bit(unsigned(C_::kIterator)) && std::has_single_bit(unsigned(C_::kOldIterator)) &&
                  std::has_single_bit(unsigned(C_::kHashWriting)) && std::has_single_bit(unsigned(C_::kSameSizeGrow)),
              "the header flags are distinct bits of one byte, set and cleared independently");

// The storage of a Map<K, V>: what a bucket looks like for this K and V, and
// the operations on its slots. Map derives from it privately.
template <class K, class V>
struct BucketStorage : MapConstants {
  static constexpr bool kIndirectKey = sizeof(K) > kMaxInlineSize;
  static constexpr bool kIndirectValue = sizeof(V) > kMaxInlineSize;

  using KeySlot = std::conditional_t<kIndirectKey, K*, K>;
  using ValueSlot = std::conditional_t<kIndirectValue, V*, V>;
  // Indirect slots hold owning pointers, so they are never trivial.
  static constexpr bool kTrivialSlots = !kIndirectKey && !kIndirectValue && std::is_trivially_destructible_v<K> &&
                                        std::is_trivially_destructible_v<V>;

  // A bucket, as in Go: tophash[8], keys[8], values[8], overflow pointer.
  // Slots are raw storage; a key and value are constructed in a slot exactly
  // while its tophash says filled or evacuatedX/Y (see Table::destroy_entries).
  struct Bucket {
    std::uint8_t tophash[kBucketSlots];
    alignas(KeySlot) unsigned char keys[kBucketSlots * sizeof(KeySlot)];
    alignas(ValueSlot) unsigned char values[kBucketSlots * sizeof(ValueSlot)];
    Bucket* overflow;
  };
  static_assert(offsetof(Bucket, tophash) == 0,
                "the tophash bytes come first, so that a lookup's first cache line holds them (prefetch_bucket)");
  static_assert(sizeof(KeySlot) <= kMaxInlineSize && sizeof(ValueSlot) <= kMaxInlineSize,
                "keys and values larger than kMaxInlineSize bytes are stored behind a pointer");

  static std::uint64_t tophash_word(const Bucket* b) noexcept {
    std::uint64_t w;
    std::memcpy(&w, b->tophash, sizeof w);
    return w;
  }
  static bool is_empty(std::uint8_t top) noexcept { return top <= kEmptyOne; }
  static bool evacuated(const Bucket* b) noexcept {
    const std::uint8_t h = b->tophash[0];
    return h > kEmptyOne && h < kMinTopHash;
  }
  static std::uint8_t tophash(std::uint64_t hash) noexcept {
    std::uint8_t top = static_cast<std::uint8_t>(hash >> 56);
    if (top < kMinTopHash) top += kMinTopHash;
    return top;
  }

  static KeySlot* key_slot(Bucket* b, unsigned i) noexcept {
    return std::launder(reinterpret_cast<KeySlot*>(b->keys) + i);
  }
  static ValueSlot* value_slot(Bucket* b, unsigned i) noexcept {
    return std::launder(reinterpret_cast<ValueSlot*>(b->values) + i);
  }
  static K& key_at(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectKey) return **key_slot(b, i);
    else return *key_slot(b, i);
  }
  static V& value_at(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectValue) return **value_slot(b, i);
    else return *value_slot(b, i);
  }

  template <class... A>
  static void construct_key(Bucket* b, unsigned i, A&&... a) {
    if constexpr (kIndirectKey) ::new (static_cast<void*>(key_slot(b, i))) K*(new K(std::forward<A>(a)...));
    else ::new (static_cast<void*>(key_slot(b, i))) K(std::forward<A>(a)...);
  }
  template <class... A>
  static void construct_value(Bucket* b, unsigned i, A&&... a) {
    if constexpr (kIndirectValue) ::new (static_cast<void*>(value_slot(b, i))) V*(new V(std::forward<A>(a)...));
    else ::new (static_cast<void*>(value_slot(b, i))) V(std::forward<A>(a)...);
  }
  static void destroy_key(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectKey) delete *key_slot(b, i);
    else std::destroy_at(key_slot(b, i));
  }
  static void destroy_value(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectValue) delete *value_slot(b, i);
    else std::destroy_at(value_slot(b, i));
  }

  static Bucket* allocate_buckets(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(Bucket)) throw std::bad_alloc();
    void* p;
    if constexpr (alignof(Bucket) <= alignof(std::max_align_t)) {
      // calloc: large arrays come back as untouched zero pages.
      p = std::calloc(n, sizeof(Bucket));
    } else {
      const std::size_t bytes = (n * sizeof(Bucket) + alignof(Bucket) - 1) / alignof(Bucket) * alignof(Bucket);
      p = std::aligned_alloc(alignof(Bucket), bytes);
      if (p) std::memset(p, 0, bytes);
    }
    if (!p) throw std::bad_alloc();
    advise_huge_pages(p, n * sizeof(Bucket));
    return static_cast<Bucket*>(p);
  }

  // A big map's lookups and writes land on random buckets, so with 4 KiB
  // pages nearly every access also misses the TLB; growth faults the new
  // array in one small page at a time. Asking for transparent huge pages on
  // the array's 2 MiB-aligned interior removes most of both (bench/README.md
  // has the figures). It is advice: where the kernel declines, or on other
  // systems, nothing changes. The memory is still calloc's, so sanitizers and
  // malloc hooks see the allocation as before.
  static void advise_huge_pages([[maybe_unused]] void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t kHugePage = std::uintptr_t(2) << 20;
    const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t lo = (begin + kHugePage - 1) & ~(kHugePage - 1);
    const std::uintptr_t hi = (begin + bytes) & ~(kHugePage - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#endif
  }

  // A bucket array with its spare and chained overflow buckets, shared by the
  // map and by iterators (see "Keeping memory alive" in gomap/map.hpp).
  struct Table {
    std::atomic<std::uint32_t> refs{1};
    std::uint8_t B = 0;
    bool filter_in_spares = false;
    std::size_t nbuckets = 0;
    std::size_t nspare = 0;       // preallocated overflow buckets after the array (Go: nextOverflow)
    std::size_t spares_used = 0;
    std::size_t array_buckets = 0;  // allocated: nbuckets + nspare, plus the filter's room when filter_in_spares
    Bucket* array = nullptr;
    std::vector<Bucket*> extra;   // overflow buckets allocated one by one
    // Lookup filter, one 16-bit word per bucket, kept apart from the buckets
    // so that it stays in cache: bit (tophash & 15) is set for every entry
    // placed in the bucket's chain since the chain was last empty. A clear
    // bit proves a lookup misses without reading the bucket (a DRAM access
    // in a big map). It is a superset: erase leaves bits set until its chain
    // empties. Go has no such filter; it changes no result.
    //
    // Where it lives: Go preallocates 2^(B-4) spare overflow buckets (9 bytes
    // per bucket of the array) and a map of well-spread keys uses about a
    // quarter of them (4.3k of 16k at 1M entries). Once the spares are at
    // least four times the filter's size (B >= 6), the filter takes the tail
    // of the spare region instead of an allocation of its own, so a big gomap
    // holds no more memory than Go's map of the same size. A chain that needs
    // more spares than remain gets individually allocated overflow buckets,
    // as Go's do once its spares run out.
    std::uint16_t* filter = nullptr;
    // Set by clear() on the arrays it drops while an iterator still holds
    // them: the iterator then reads every slot as empty, as Go's mapclear
    // marks every slot of h.buckets and h.oldbuckets emptyRest. The contents
    // stay intact (and are destroyed with the table), so nothing an iterator
    // could still reference is freed early.
    std::atomic<bool> emptied_by_clear{false};

    explicit Table(std::uint8_t b, std::size_t extra_spares = 0) : B(b), nbuckets(std::size_t(1) << b) {
      const std::size_t go_spares = b >= 4 ? (std::size_t(1) << (b - 4)) : 0;
      const std::size_t filter_buckets = (nbuckets * sizeof(std::uint16_t) + sizeof(Bucket) - 1) / sizeof(Bucket);
      static_assert(alignof(Bucket) >= alignof(std::uint16_t), "the filter starts on a bucket boundary");
      filter_in_spares = go_spares >= 4 * filter_buckets;
      nspare = go_spares + extra_spares - (filter_in_spares ? filter_buckets : 0);
      array_buckets = nbuckets + go_spares + extra_spares;
      array = allocate_buckets(array_buckets);
      if (filter_in_spares) {
        // calloc'd bytes: the words are zero, and reset() zeroes them with the array.
        filter = reinterpret_cast<std::uint16_t*>(array + nbuckets + nspare);
      } else {
        filter = static_cast<std::uint16_t*>(std::calloc(nbuckets, sizeof(std::uint16_t)));
        if (filter == nullptr) {
          std::free(array);
          throw std::bad_alloc();
        }
      }
    }
    void note(std::size_t x, std::uint8_t top) noexcept { filter[x] |= static_cast<std::uint16_t>(1u << (top & 15)); }
    bool may_hold(std::size_t x, std::uint8_t top) const noexcept { return (filter[x] >> (top & 15)) & 1u; }
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;
    ~Table() {
      destroy_entries();
      for (Bucket* o : extra) std::free(o);
      std::free(array);
      if (!filter_in_spares) std::free(filter);
    }

    Bucket* bucket(std::size_t i) const noexcept { return array + i; }

    Bucket* take_overflow() {
      if (spares_used < nspare) return array + nbuckets + spares_used++;
      extra.push_back(nullptr);  // grows geometrically; if it throws, nothing was allocated
      try {
        extra.back() = allocate_buckets(1);
      } catch (...) {
        extra.pop_back();
        throw;
      }
      return extra.back();
    }
    std::size_t overflow_in_use() const noexcept { return spares_used + extra.size(); }
    std::size_t bytes() const noexcept {
      return sizeof(Table) + (array_buckets + extra.size()) * sizeof(Bucket) + extra.capacity() * sizeof(Bucket*) +
             (filter_in_spares ? 0 : nbuckets * sizeof(std::uint16_t));
    }

    template <class F>
    void for_each_bucket(F&& f) const {
      for (std::size_t i = 0; i < nbuckets + spares_used; ++i) f(array + i);
      for (Bucket* o : extra) f(o);
    }

    // Filled and evacuatedX/Y slots hold constructed objects: evacuation
    // leaves a moved-from or copied key and value behind (see evacuate()).
    void destroy_entries() noexcept {
      if constexpr (!kTrivialSlots) {
        for_each_bucket([](Bucket* b) {
          for (unsigned i = 0; i < kBucketSlots; ++i) {
            const std::uint8_t top = b->tophash[i];
            if (top >= kMinTopHash || top == kEvacuatedX || top == kEvacuatedY) {
              destroy_key(b, i);
              destroy_value(b, i);
            }
          }
        });
      }
    }

    // Go's makeBucketArray(dirtyalloc): empty the same array in place.
    void reset() noexcept {
      destroy_entries();
      for (Bucket* o : extra) std::free(o);
      extra.clear();
      std::memset(static_cast<void*>(array), 0, (nbuckets + nspare) * sizeof(Bucket));
      std::memset(filter, 0, nbuckets * sizeof(std::uint16_t));  // in or after the spares
      spares_used = 0;
    }
  };

  static Table* retain(Table* t) noexcept {
    if (t) t->refs.fetch_add(1, std::memory_order_relaxed);
    return t;
  }
  static void release(Table* t) noexcept {
    if (t && t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete t;
  }

  // Move (or, with old iterators live, copy) an entry to its new slot. The
  // old slot keeps a constructed key and value either way — moved-from or an
  // intact copy — and the old table destroys them when it is freed. Moves
  // happen only where they cannot throw (std::move_if_noexcept); if the value
  // cannot be placed, the key goes back and the destination is left empty.
  static void transfer(Bucket* from, unsigned i, Bucket* to, unsigned j, bool keep_old) {
    if constexpr (kIndirectKey) {
      if (keep_old) {
        construct_key(to, j, key_at(from, i));
      } else {
        ::new (static_cast<void*>(key_slot(to, j))) K*(std::exchange(*key_slot(from, i), nullptr));
      }
    } else if (keep_old) {
      construct_key(to, j, key_at(from, i));
    } else {
      construct_key(to, j, std::move_if_noexcept(key_at(from, i)));
    }
    try {
      if constexpr (std::is_copy_constructible_v<V>) {
        if (keep_old) {
          construct_value(to, j, value_at(from, i));
          return;
        }
      }
      if constexpr (kIndirectValue) {
        ::new (static_cast<void*>(value_slot(to, j))) V*(std::exchange(*value_slot(from, i), nullptr));
      } else {
        construct_value(to, j, std::move_if_noexcept(value_at(from, i)));
      }
    } catch (...) {
      if (!keep_old) give_key_back(to, j, from, i);
      destroy_key(to, j);
      throw;
    }
  }

  static void give_key_back(Bucket* to, unsigned j, Bucket* from, unsigned i) noexcept {
    if constexpr (kIndirectKey) {
      *key_slot(from, i) = std::exchange(*key_slot(to, j), nullptr);
    } else if constexpr (std::is_nothrow_move_assignable_v<K>) {
      key_at(from, i) = std::move(key_at(to, j));
    }
  }

  // Undoes a moving transfer() (rollback of a failed evacuation): the old
  // slot still holds a moved-from key and value, so assign the entry back.
  static void untransfer(Bucket* to, unsigned j, Bucket* from, unsigned i) noexcept {
    give_key_back(to, j, from, i);
    if constexpr (kIndirectValue) {
      *value_slot(from, i) = std::exchange(*value_slot(to, j), nullptr);
    } else if constexpr (std::is_nothrow_move_assignable_v<V>) {
      value_at(from, i) = std::move(value_at(to, j));
    }
  }

  // Visits every live slot: the new array's, plus the old array's buckets
  // that are not yet evacuated.
  template <class F>
  static void for_each_live_slot(Table* current, Table* old, F&& f) {
    for (Table* t : {old, current}) {
      if (!t) continue;
      for (std::size_t x = 0; x < t->nbuckets; ++x) {
        Bucket* first = t->bucket(x);
        if (evacuated(first)) continue;
        for (Bucket* b = first; b != nullptr; b = b->overflow) {
          for (unsigned i = 0; i < kBucketSlots; ++i) {
            if (b->tophash[i] >= kMinTopHash) f(b, i);
          }
        }
      }
    }
  }

};

}  // namespace gomap::detail
