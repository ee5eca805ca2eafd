// gomap/map.hpp — Go's classic runtime hash map, in C++20.
//
// This is the bucket map the Go runtime used up to Go 1.23 (runtime/map.go),
// with Go 1.24's clearSeq fix, rebuilt with the same layout so that it has the
// same guarantees and the same corner cases. What follows is the design; the
// code keeps to it, and check_invariants() is its executable form. This file
// holds the API and growth; the storage (buckets, tables), the iterator and
// the invariant checker are in gomap/detail/ (see engine/README.md).
//
// Layout. A map is a header plus an array of 2^B buckets. A bucket holds eight
// entries: eight one-byte "tophash" values first, then the eight keys, then
// the eight values, then a pointer to an overflow bucket. The low B bits of a
// key's hash pick the bucket; the top eight bits, bumped past the reserved
// values below, are stored in the tophash byte so that a lookup compares one
// byte per slot (eight at a time, as a 64-bit word) before it touches a key.
// Keys or values larger than 128 bytes are stored indirectly: the slot holds a
// pointer to a separately allocated object.
//
// Tophash states. 0 emptyRest: this slot and every later slot of the chain
// are empty, so a scan may stop. 1 emptyOne: this slot is empty. 2 evacuatedX
// and 3 evacuatedY: the entry moved to the low or high half of the new array.
// 4 evacuatedEmpty: empty, and the bucket was evacuated. 5.. a filled slot.
// Erase marks emptyOne and, when the slot is followed only by emptyRest, walks
// backwards turning the trailing emptyOnes into emptyRest, crossing back into
// earlier buckets of the chain. Insert reuses the first empty slot of the
// chain, so a chain is always "filled and emptyOne slots, then emptyRest".
//
// Growth. A write that adds a key makes the map grow when the new count would
// exceed 6.5 entries per bucket (count > 8 && count > 13 * 2^B / 2), or when
// there are as many overflow buckets as buckets (noverflow >= 2^min(B,15)); the
// latter grows to the same size, which only compacts long chains left behind
// by erases. Growth allocates the new array and keeps the old one as
// "oldbuckets"; nothing moves yet. Each later write evacuates the old bucket it
// is about to touch, plus the lowest not yet evacuated one (nevacuate), so the
// cost is spread over writes. Evacuating a bucket moves each entry to bucket i
// (X) or i + 2^oldB (Y) of the new array, chosen by one more hash bit, and
// leaves evacuatedX/Y marks behind. Lookups read the old bucket while it is not
// yet evacuated. No growth starts while another is in progress.
//
// Iteration. An iterator snapshots the bucket array and B, and starts at a
// random bucket and a random slot offset (both drawn from the map's seeded
// generator). If a growth is in progress and the iterator's B is the map's B,
// it reads the old bucket that feeds the bucket it is visiting while that old
// bucket is not evacuated, skipping entries that belong to the other half. An
// entry marked evacuated in the array it reads is looked up again in the
// current map: the lookup yields the current key and value, or nothing if the
// key was erased. An entry read in place is returned directly when it cannot
// have changed under the iterator: the map has not been cleared since the
// iterator started (clearSeq, Go 1.24's fix for Go issue 70189) and the entry
// is not evacuated (or is NaN, which a lookup could never find). NaN keys pick
// their half from the low bit of their tophash while an iterator is live, so
// that an iterator that filters by half sees each NaN exactly once.
//
// Keeping memory alive. Go's iterator relies on the garbage collector to keep
// the arrays it reads alive; C++ has none. Here every bucket array, together
// with its preallocated spare overflow buckets and every overflow bucket
// chained to it, is one reference-counted Table. The map holds a reference to
// its current and old tables; an iterator holds a reference to its snapshot
// table and to the table of the bucket it stands in. A table is freed only
// when the last reference goes, so growth finishing, clear, and compaction
// never free memory an iterator may still read. Evacuation while an iterator
// may still read the old bucket (Go's oldIterator flag) copies keys and values
// instead of moving them, so the old slot stays readable for the re-lookup;
// without live iterators it moves them. (Go keys this on its oldIterator flag;
// we count live iterators, which also covers an iterator that outlives two
// same-size growths — a case where Go's flag has already been dropped.)
//
// Clearing and replacing under an iterator. Go's mapclear marks every slot
// of both arrays emptyRest, so an iterator standing in either sees nothing
// that was cleared. Here clear() reuses the bucket array in place when no
// iterator holds it; when one does, it swaps in a fresh array and marks the
// arrays it drops (current and old) as emptied, and iterators read an
// emptied array as all emptyRest. An iterator reading the old bucket of a
// doubling growth yields only the entries bound for the half it is
// visiting; for an evacuated entry it takes the half from the evacuatedX/Y
// mark, never from a new hash of the key, because the seed changes when the
// map is cleared or empties. An iterator follows the map object it started
// on: when that object's contents are replaced wholesale (moved from, move-
// or copy-assigned to, swapped), its live iterators end, since the tables
// they read belong to another object now.
//
// Keys. +0.0 and -0.0 are one key; assigning to an existing float key
// overwrites the stored key too, so its sign follows the last write. NaN is
// never equal to itself: each insert adds an entry with a random hash that no
// lookup or erase can find; iteration yields it and clear() removes it.
//
// Determinism. All randomness — the hash seed, its re-randomisation when the
// map empties or is cleared, iteration starts, NaN hashes, the sampled
// overflow counter of huge maps — comes from one splitmix64 generator per map,
// seeded by gomap::Seed. Same seed and same operations give the same
// behaviour, bit for bit.
//
// Misuse detection. Like Go, the map is not safe for concurrent writes; a
// writing flag, kept with relaxed atomics so that correct programs stay clean
// under ThreadSanitizer, makes unsynchronised use abort with Go's messages
// ("fatal error: concurrent map writes" and its read and iteration siblings).
// Concurrent readers, iteration included, are allowed, as in Go.
//
// References. find(), operator[] and the references an iterator yields are
// valid until the next write to the map, as with any C++ container. In
// particular `for (auto&& [k, v] : m) m.erase(k);` is fine (erase does not use
// the key after destroying it) but k must be copied first if the body uses it
// after erasing it.
#pragma once

#include <algorithm>
#include <bit>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "gomap/detail/random.hpp"
#include "gomap/detail/table.hpp"
#include "gomap/hash.hpp"

namespace gomap {

struct Seed {
  std::uint64_t value = 0;
};

struct Stats {
  std::size_t count = 0;             // live entries (len(m))
  unsigned B = 0;                    // log2 of the bucket count
  std::size_t buckets = 0;           // 2^B
  std::size_t overflow_buckets = 0;  // overflow buckets in use, current and old arrays
  std::size_t noverflow = 0;         // Go's noverflow: overflow buckets counted toward same-size growth
  bool growing = false;              // an evacuation is in progress
  bool same_size_grow = false;       // ... and it is a same-size growth
  std::size_t nevacuate = 0;         // old buckets below this index are evacuated
  std::size_t bytes = 0;             // memory held by the map (tables, spares, indirect objects)
  std::uint64_t clear_seq = 0;       // number of clear() calls that removed something
  std::size_t live_iterators = 0;    // iterators that have not finished
  std::uint64_t growths = 0;         // growths started (doubling or same-size) since construction
  std::uint64_t growths_done = 0;    // growths whose evacuation completed (clear drops one instead)
};

class InvariantError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct MapTestAccess;  // the tests' backdoor: engine/tests/support/map_test_access.hpp

namespace detail {

[[noreturn]] inline void fatal(const char* msg) noexcept {
  std::fprintf(stderr, "fatal error: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

template <class K, class V, class Hash = gomap::Hash<K>, class Eq = gomap::Equal<K>>
class Map : private detail::BucketStorage<K, V> {
  friend struct gomap::MapTestAccess;

  // The storage layer (buckets, slots, tables: gomap/detail/table.hpp).
  using Storage = detail::BucketStorage<K, V>;
  using typename Storage::Bucket, typename Storage::Table;
  using Storage::kBucketSlots, Storage::kLoadFactorNum, Storage::kLoadFactorDen, Storage::kEmptyRest,
      Storage::kEmptyOne, Storage::kEvacuatedX, Storage::kEvacuatedY, Storage::kEvacuatedEmpty, Storage::kMinTopHash,
      Storage::kIterator, Storage::kOldIterator, Storage::kHashWriting, Storage::kSameSizeGrow, Storage::kIndirectKey,
      Storage::kIndirectValue;
  using Storage::tophash_word, Storage::is_empty, Storage::evacuated, Storage::tophash, Storage::key_slot,
      Storage::value_slot, Storage::key_at, Storage::value_at, Storage::construct_key, Storage::construct_value,
      Storage::destroy_key, Storage::destroy_value, Storage::retain, Storage::release, Storage::transfer,
      Storage::untransfer, Storage::for_each_live_slot;

  static constexpr bool kReflexive = KeyTraits<K>::reflexive;
  static constexpr bool kNeedsKeyUpdate = KeyTraits<K>::needs_key_update;

 public:
  using key_type = K;
  using mapped_type = V;
  using size_type = std::size_t;
  using hasher = Hash;
  using key_equal = Eq;

  template <bool Const>
  class BasicIterator;
  using Iterator = BasicIterator<false>;
  using ConstIterator = BasicIterator<true>;
  using iterator = Iterator;
  using const_iterator = ConstIterator;

  // ---- construction (Go: makemap)
  Map() : Map(0, Seed{detail::fresh_seed()}) {}
  explicit Map(std::size_t hint) : Map(hint, Seed{detail::fresh_seed()}) {}
  Map(std::size_t hint, Seed seed) : Map(hint, seed, Hash{}, Eq{}) {}
  // With hash and equality functor instances (for stateful hashes).
  Map(std::size_t hint, Seed seed, Hash hash, Eq eq = Eq{}) : rng_(seed.value), hash_(std::move(hash)), eq_(std::move(eq)) {
    hash0_ = next_random();
    // Go ignores hints whose bucket array could not be allocated (TestIgnoreBogusMapHint).
    constexpr std::size_t kMaxAlloc = std::size_t(1) << 48;
    if (hint > kMaxAlloc / sizeof(Bucket)) hint = 0;
    std::uint8_t b = b_for_hint(hint);
    // Nor do we ask for an array larger than the machine's memory: sanitizer
    // allocators abort on such requests instead of failing them.
    if (b > 0 && ((std::size_t(1) << b) + (std::size_t(1) << (b >= 4 ? b - 4 : 0))) > max_hinted_array_bytes() / sizeof(Bucket)) b = 0;
    if (b > 0) {
      try {
        buckets_ = new Table(b);
        B_ = b;
      } catch (const std::bad_alloc&) {
        buckets_ = nullptr;  // an absurd hint is ignored, not fatal
        B_ = 0;
      }
    }
  }

  Map(const Map& other)
      : B_(0), hash0_(other.hash0_), rng_(other.rng_.load(std::memory_order_relaxed)), hash_(other.hash_), eq_(other.eq_) {
    const std::uint8_t b = b_for_hint(other.count_);
    if (other.count_ == 0) return;
    buckets_ = new Table(b);
    B_ = b;
    try {
      other.for_each_entry([&](const K& k, const V& v) { place_new_entry(hash_of(k), k, v); });
    } catch (...) {
      release(buckets_);  // destroys what was copied so far
      throw;
    }
  }
  Map(Map&& other) noexcept { swap(other); }
  Map& operator=(const Map& other) {
    if (this != &other) {
      Map copy(other);
      swap(copy);
    }
    return *this;
  }
  Map& operator=(Map&& other) noexcept {
    if (this != &other) {
      Map taken(std::move(other));
      swap(taken);
    }
    return *this;
  }
  ~Map() {
    release(buckets_);
    release(oldbuckets_);
  }

  void swap(Map& o) noexcept {
    using std::swap;
    swap(count_, o.count_);
    const std::uint8_t f = flags_.load(std::memory_order_relaxed);
    flags_.store(o.flags_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    o.flags_.store(f, std::memory_order_relaxed);
    swap(B_, o.B_);
    swap(noverflow_, o.noverflow_);
    swap(hash0_, o.hash0_);
    swap(buckets_, o.buckets_);
    swap(oldbuckets_, o.oldbuckets_);
    swap(nevacuate_, o.nevacuate_);
    swap(clear_seq_, o.clear_seq_);
    swap(growths_, o.growths_);
    swap(growths_done_, o.growths_done_);
    const std::uint64_t r = rng_.load(std::memory_order_relaxed);
    rng_.store(o.rng_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    o.rng_.store(r, std::memory_order_relaxed);
    // live_iterators_ stays: an iterator belongs to the map object it was
    // started on, and unregisters from that object. Each object's contents
    // were just replaced wholesale, so its live iterators end (see
    // "Clearing and replacing under an iterator" at the top of this file): the
    // tables they read now belong to the other object.
    ++contents_epoch_;
    ++o.contents_epoch_;
    swap(hash_, o.hash_);
    swap(eq_, o.eq_);
  }

  // ---- size
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  // ---- lookup (Go: mapaccess1/2)
  V* find(const K& key) { return const_cast<V*>(std::as_const(*this).find(key)); }
  const V* find(const K& key) const {
    if (count_ == 0) return nullptr;
    check_not_writing_for_read();
    if constexpr (!kReflexive) {
      if (!eq_(key, key)) return nullptr;  // NaN is never found
    }
    const auto [b, i] = find_slot(key, seeded_hash(key));
    return b ? &value_at(b, i) : nullptr;
  }
  bool contains(const K& key) const { return find(key) != nullptr; }

  // ---- assignment (Go: mapassign)
  void insert_or_assign(const K& key, V value) {
    assign(
        key, [&](Bucket* b, unsigned i) { construct_value(b, i, std::move(value)); },
        [&](V& existing) { existing = std::move(value); });
  }

  // Go's m[k] op= x: a missing key starts from a value-initialised V.
  V& operator[](const K& key) {
    return assign(
        key, [](Bucket* b, unsigned i) { construct_value(b, i); }, [](V&) {});
  }

  // ---- delete (Go: mapdelete)
  bool erase(const K& key) {
    if (count_ == 0) return false;
    const std::uint64_t hash = hash_of(key);
    WriteGuard guard(*this);
    const std::size_t bucket = hash & bucket_mask(B_);
    if (growing()) grow_work(bucket);
    Bucket* const first = buckets_->bucket(bucket);
    prefetch_bucket(first);
    const std::uint8_t top = tophash(hash);
    if (!buckets_->may_hold(bucket, top)) return false;
    for (Bucket* b = first; b != nullptr; b = b->overflow) {
      const std::uint64_t word = tophash_word(b);
      for (std::uint64_t m = detail::bytes_equal(word, top); m != 0; m &= m - 1) {
        const unsigned i = detail::byte_index(m);
        if (b->tophash[i] != top || !eq_(key, key_at(b, i))) continue;
        // `key` may be this very slot's key (erase while ranging): it is not
        // used after this point.
        destroy_key(b, i);
        destroy_value(b, i);
        const std::uint64_t now = mark_erased(first, b, i, word);
        const std::uint8_t first_top = b == first ? static_cast<std::uint8_t>(now) : first->tophash[0];
        if (first_top == kEmptyRest) buckets_->filter[bucket] = 0;  // the whole chain is empty
        --count_;
        // Go issue 25237: a map that empties gets a fresh seed, so an attacker
        // who learned the old one cannot keep building collisions.
        if (count_ == 0) hash0_ = next_random();
        return true;
      }
      if (detail::zero_bytes(word) != 0) break;  // an emptyRest slot ends the chain
    }
    return false;
  }

  // ---- clear (Go 1.21 clear(m), with Go 1.24's clearSeq)
  void clear() {
    if (count_ == 0) return;
    WriteGuard guard(*this);
    // B is kept: clear never shrinks. The array is reused in place unless an
    // iterator still reads it; then the iterator keeps the old one, marked
    // emptied. Allocate first, so that a failed allocation changes nothing.
    Table* const fresh = buckets_->refs.load(std::memory_order_acquire) == 1 ? nullptr : new Table(B_);
    flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
    if (oldbuckets_ != nullptr) oldbuckets_->emptied_by_clear.store(true, std::memory_order_relaxed);
    release(std::exchange(oldbuckets_, nullptr));
    nevacuate_ = 0;
    noverflow_ = 0;
    count_ = 0;
    ++clear_seq_;
    hash0_ = next_random();
    if (fresh == nullptr) {
      buckets_->reset();
    } else {
      buckets_->emptied_by_clear.store(true, std::memory_order_relaxed);
      release(std::exchange(buckets_, fresh));
    }
  }

  // ---- compact (an extension: Go never shrinks a map)
  // Rebuilds into the smallest B that holds size() entries without growing,
  // finishing any growth and dropping every overflow chain it can. While an
  // iterator is live it does nothing, so that iteration keeps Go's guarantees.
  void compact() {
    if (live_iterators_.load(std::memory_order_acquire) != 0) return;
    WriteGuard guard(*this);
    const std::uint8_t b = b_for_hint(count_);
    if (!growing() && b == B_ && (buckets_ == nullptr || buckets_->overflow_in_use() == 0)) return;  // already minimal
    if (count_ == 0) {
      release(buckets_);
      release(oldbuckets_);
      buckets_ = oldbuckets_ = nullptr;
      B_ = 0;
      nevacuate_ = 0;
      noverflow_ = 0;
      flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
      return;
    }
    // Plan first, so that everything that can fail happens before the map
    // changes: every entry's hash (NaN draws its random hash once, here),
    // and an array with exactly the overflow buckets the placement needs.
    const std::size_t mask = bucket_mask(b);
    std::vector<std::uint64_t> hashes;
    hashes.reserve(count_);
    for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* src, unsigned i) { hashes.push_back(hash_of(key_at(src, i))); });
    std::vector<std::uint32_t> per_bucket(mask + 1);
    for (std::uint64_t h : hashes) ++per_bucket[h & mask];
    std::size_t overflow_needed = 0;
    for (std::uint32_t c : per_bucket) overflow_needed += c > kBucketSlots ? (c - 1) / kBucketSlots : 0;
    Table* fresh = new Table(b, overflow_needed);
    std::vector<std::pair<Bucket*, unsigned>> placed;  // for rollback, in visiting order
    placed.reserve(hashes.size());
    std::uint16_t overflow_taken = 0;
    std::size_t n = 0;
    try {
      for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* src, unsigned i) {
        const std::uint64_t hash = hashes[n++];
        Bucket* d = fresh->bucket(hash & mask);
        unsigned j = 0;
        for (;;) {
          const std::uint64_t empties = detail::zero_bytes(tophash_word(d) & ~detail::kByteOnes);
          if (empties != 0) {
            j = detail::byte_index(empties);
            break;
          }
          if (d->overflow == nullptr) {
            d->overflow = fresh->take_overflow();  // a reserved spare: never allocates
            ++overflow_taken;
          }
          d = d->overflow;
        }
        transfer(src, i, d, j, /*keep_old=*/false);  // moves when that cannot throw, else copies
        d->tophash[j] = tophash(hash);
        fresh->note(hash & mask, d->tophash[j]);
        placed.emplace_back(d, j);
      });
    } catch (...) {
      // Give moved entries back, then drop the new array with its copies.
      std::size_t m = 0;
      for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* src, unsigned i) {
        if (m < placed.size()) untransfer(placed[m].first, placed[m].second, src, i);
        ++m;
      });
      release(fresh);
      throw;
    }
    release(buckets_);
    release(oldbuckets_);
    buckets_ = fresh;
    oldbuckets_ = nullptr;
    B_ = b;
    nevacuate_ = 0;
    noverflow_ = overflow_taken;
    flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
  }

  // ---- iteration (Go: mapiterinit/mapiternext)
  Iterator begin() { return Iterator(this); }
  ConstIterator begin() const { return ConstIterator(this); }
  ConstIterator cbegin() const { return ConstIterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }
  std::default_sentinel_t cend() const noexcept { return {}; }

  // Explicit Go-style range: `for (auto&& [k, v] : m.range())`, or a callback
  // `m.range([](const K& k, V& v) { ...; return true; })` that stops on false.
  struct RangeView {
    Map* m;
    Iterator begin() const { return m->begin(); }
    std::default_sentinel_t end() const noexcept { return {}; }
  };
  RangeView range() noexcept { return RangeView{this}; }
  template <class F>
  void range(F&& fn) {
    for (auto it = begin(); it != end(); ++it) {
      if constexpr (std::is_convertible_v<std::invoke_result_t<F&, const K&, V&>, bool>) {
        if (!fn(it.key(), it.value())) return;
      } else {
        fn(it.key(), it.value());
      }
    }
  }

  // ---- introspection
  Stats stats() const {
    Stats s;
    s.count = count_;
    s.B = B_;
    s.buckets = std::size_t(1) << B_;
    s.growing = growing();
    s.same_size_grow = growing() && same_size_grow();
    s.nevacuate = nevacuate_;
    s.noverflow = noverflow_;
    s.clear_seq = clear_seq_;
    s.live_iterators = live_iterators_.load(std::memory_order_relaxed);
    s.growths = growths_;
    s.growths_done = growths_done_;
    s.bytes = sizeof(Map);
    for (const Table* t : {buckets_, oldbuckets_}) {
      if (!t) continue;
      s.overflow_buckets += t->overflow_in_use();
      s.bytes += t->bytes();
    }
    if constexpr (kIndirectKey) s.bytes += count_ * sizeof(K);
    if constexpr (kIndirectValue) s.bytes += count_ * sizeof(V);
    return s;
  }

  // Verifies every structural invariant; throws InvariantError naming the
  // first one broken and where.
  void check_invariants() const;

 private:
  // Sets Go's hashWriting around a write and checks it is still set at the
  // end; unwinding from a throwing key or value constructor clears it too.
  class WriteGuard {
   public:
    explicit WriteGuard(Map& m) : m_(m) {
      const std::uint8_t f = m_.flags_.load(std::memory_order_relaxed);
      if (f & kHashWriting) detail::fatal("concurrent map writes");
      m_.flags_.store(f ^ kHashWriting, std::memory_order_relaxed);
    }
    ~WriteGuard() {
      const std::uint8_t f = m_.flags_.load(std::memory_order_relaxed);
      if (!(f & kHashWriting)) detail::fatal("concurrent map writes");
      m_.flags_.store(f & ~kHashWriting, std::memory_order_relaxed);
    }
    WriteGuard(const WriteGuard&) = delete;
    WriteGuard& operator=(const WriteGuard&) = delete;

   private:
    Map& m_;
  };

  static std::size_t bucket_mask(std::uint8_t b) noexcept { return (std::size_t(1) << b) - 1; }
  // The most entries 2^b buckets hold before a growth: 6.5 per bucket.
  static std::size_t load_limit(std::uint8_t b) noexcept {
    return kLoadFactorNum * ((std::size_t(1) << b) / kLoadFactorDen);
  }
  // Go's overLoadFactor: more than 6.5 entries per bucket on average.
  static bool over_load_factor(std::size_t count, std::uint8_t b) noexcept {
    if (count <= kBucketSlots) return false;
    if (b >= 63) return false;
    return count > load_limit(b);
  }
  static bool too_many_overflow_buckets(std::uint16_t noverflow, std::uint8_t b) noexcept {
    const unsigned shift = b < 15 ? b : 15;
    return noverflow >= (std::uint32_t(1) << shift);
  }
  static std::size_t max_hinted_array_bytes() noexcept {
    static const std::size_t limit = [] {
      constexpr std::size_t kCap = std::size_t(1) << 40;
      const long pages = ::sysconf(_SC_PHYS_PAGES);
      const long page_size = ::sysconf(_SC_PAGE_SIZE);
      if (pages <= 0 || page_size <= 0) return kCap;
      return std::min(kCap, static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size));
    }();
    return limit;
  }
  static std::uint8_t b_for_hint(std::size_t hint) noexcept {
    std::uint8_t b = 0;
    while (over_load_factor(hint, b)) ++b;
    return b;
  }

  bool growing() const noexcept { return oldbuckets_ != nullptr; }
  bool same_size_grow() const noexcept { return (flags_.load(std::memory_order_relaxed) & kSameSizeGrow) != 0; }
  std::size_t old_bucket_count() const noexcept {
    return same_size_grow() ? (std::size_t(1) << B_) : (std::size_t(1) << (B_ - 1));
  }
  std::size_t old_bucket_mask() const noexcept { return old_bucket_count() - 1; }

  std::uint64_t next_random() const noexcept {
    return detail::splitmix_mix(rng_.fetch_add(detail::kSplitmixStep, std::memory_order_relaxed) +
                                detail::kSplitmixStep);
  }

  std::uint64_t seeded_hash(const K& k) const { return detail::seeded_hash(hash_, k, hash0_); }
  // Go's hasher: NaN (any non-reflexive key) hashes to a fresh random value.
  std::uint64_t hash_of(const K& k) const {
    if constexpr (!kReflexive) {
      if (!eq_(k, k)) return next_random();
    }
    return seeded_hash(k);
  }

  void check_not_writing_for_read() const noexcept {
    if (flags_.load(std::memory_order_relaxed) & kHashWriting) detail::fatal("concurrent map read and map write");
  }

  // The chain a lookup of `hash` must search: the old one while it is not evacuated.
  struct Home {
    const Table* table;
    std::size_t index;
  };
  Home lookup_home(std::uint64_t hash) const noexcept {
    std::size_t m = bucket_mask(B_);
    Home h{buckets_, hash & m};
    if (oldbuckets_ != nullptr) {
      if (!same_size_grow()) m >>= 1;
      if (!evacuated(oldbuckets_->bucket(hash & m))) h = Home{oldbuckets_, hash & m};
    }
    return h;
  }

  // A bucket spans several cache lines (tophash and the first keys, the
  // rest of the keys, the values): ask for all of them at once, so that the
  // misses overlap instead of following each other.
  static void prefetch_bucket(const Bucket* b) noexcept {
    const char* p = reinterpret_cast<const char*>(b);
    for (std::size_t off = 0; off < sizeof(Bucket); off += 64) __builtin_prefetch(p + off);
  }

  std::pair<Bucket*, unsigned> find_slot(const K& key, std::uint64_t hash) const {
    const std::uint8_t top = tophash(hash);
    const Home home = lookup_home(hash);
    Bucket* first = home.table->bucket(home.index);
    // Start fetching the bucket's first line (its tophash bytes) before
    // consulting the filter, so that a hit waits for one memory access, not
    // for the filter and then the bucket; the rest of the bucket only once
    // the filter lets the lookup through, so that the misses it answers
    // (about two in three in a full map) cost no memory traffic.
    __builtin_prefetch(first);
    if (!home.table->may_hold(home.index, top)) return {nullptr, 0};
    prefetch_bucket(first);
    for (Bucket* b = first; b != nullptr; b = b->overflow) {
      const std::uint64_t word = tophash_word(b);
      for (std::uint64_t m = detail::bytes_equal(word, top); m != 0; m &= m - 1) {
        const unsigned i = detail::byte_index(m);
        if (b->tophash[i] == top && eq_(key, key_at(b, i))) return {b, i};
      }
      if (detail::zero_bytes(word) != 0) break;
    }
    return {nullptr, 0};
  }

  // Go's mapaccessK, used by iterators to re-look-up a moved key.
  std::pair<Bucket*, unsigned> access_k(const K& key) const {
    if (count_ == 0) return {nullptr, 0};
    if constexpr (!kReflexive) {
      if (!eq_(key, key)) return {nullptr, 0};
    }
    return find_slot(key, seeded_hash(key));
  }

  template <class MakeValue, class OnFound>
  V& assign(const K& key, MakeValue&& make_value, OnFound&& on_found) {
    const std::uint64_t hash = hash_of(key);  // before the flag: a throwing hash is not a write
    WriteGuard guard(*this);
    if (buckets_ == nullptr) buckets_ = new Table(B_);
    const std::uint8_t top = tophash(hash);
    for (;;) {
      const std::size_t bucket = hash & bucket_mask(B_);
      Bucket* b = buckets_->bucket(bucket);
      prefetch_bucket(b);
      if (growing()) {
        // The old bucket this write evacuates, and where its entries go:
        // start all these memory accesses at once.
        const std::size_t ob = bucket & old_bucket_mask();
        const Bucket* old = oldbuckets_->bucket(ob);
        prefetch_bucket(old);
        if (!same_size_grow()) {
          // `bucket` is one of the old bucket's two destinations; the other:
          const std::size_t other = bucket == ob ? ob + old_bucket_count() : ob;
          __builtin_prefetch(buckets_->bucket(other), 1);
        }
        grow_work(bucket);
      }
      Bucket* insert_b = nullptr;
      unsigned insert_i = 0;
      for (;;) {
        const std::uint64_t word = tophash_word(b);
        for (std::uint64_t m = detail::bytes_equal(word, top); m != 0; m &= m - 1) {
          const unsigned i = detail::byte_index(m);
          if (b->tophash[i] != top || !eq_(key, key_at(b, i))) continue;
          // A key type that cannot be assigned keeps the key first stored.
          if constexpr (kNeedsKeyUpdate && std::is_copy_assignable_v<K>) key_at(b, i) = key;
          V& v = value_at(b, i);
          on_found(v);
          return v;
        }
        if (insert_b == nullptr) {
          // The first empty (emptyOne or emptyRest) slot of the chain.
          const std::uint64_t empties = detail::zero_bytes(word & ~detail::kByteOnes);
          if (empties != 0) {
            insert_b = b;
            insert_i = detail::byte_index(empties);
          }
        }
        if (detail::zero_bytes(word) != 0 || b->overflow == nullptr) break;
        b = b->overflow;
      }
      if (!growing() && (over_load_factor(count_ + 1, B_) || too_many_overflow_buckets(noverflow_, B_))) {
        hash_grow();
        continue;  // growing invalidates the scan above
      }
      if (insert_b == nullptr) {
        insert_b = new_overflow(b);
        insert_i = 0;
      }
      construct_key(insert_b, insert_i, key);
      try {
        make_value(insert_b, insert_i);
      } catch (...) {
        destroy_key(insert_b, insert_i);
        throw;
      }
      insert_b->tophash[insert_i] = top;
      buckets_->note(bucket, top);
      ++count_;
      return value_at(insert_b, insert_i);
    }
  }

  // Marks slot i of `b` (whose tophash bytes were `word`) emptyOne; if
  // nothing but emptyRest follows it, it and the emptyOnes before it become
  // emptyRest, walking back across the chain that starts at `first`. Returns
  // b's tophash bytes as stored.
  //
  // Within the bucket this is arithmetic on `word`, the bytes the lookup
  // already loaded, ending in one 8-byte store. Storing the emptyOne byte and
  // then reading the word back (as a byte-at-a-time walk would) cannot be
  // store-forwarded: the load waits for the store to retire, which serialised
  // consecutive erases (bench/README.md has the figures).
  std::uint64_t mark_erased(Bucket* first, Bucket* b, unsigned i, std::uint64_t word) noexcept {
    const unsigned shift = 8 * i;
    word = (word & ~(std::uint64_t(0xff) << shift)) | (std::uint64_t(kEmptyOne) << shift);
    const std::uint64_t above_i = (word >> shift) >> 8;  // the slots after i
    const bool next_empty = b->overflow == nullptr || b->overflow->tophash[0] == kEmptyRest;
    const bool trailing = (above_i == 0) & next_empty;
    // Slots 0..i: the highest one that is not emptyOne stays, and every slot
    // above it becomes emptyRest (slot i is emptyOne, so at most slots
    // 0..i-1 stay and the shift below is below 64).
    const std::uint64_t upto_i = ~std::uint64_t(0) >> (8 * (kBucketSlots - 1 - i));
    const std::uint64_t kept = ~detail::exact_zero_bytes(word ^ detail::kByteOnes) & detail::kByteHighs & upto_i;
    const unsigned keep = static_cast<unsigned>(std::bit_width(kept)) / 8;
    const std::uint64_t marked = word & ((std::uint64_t(1) << (8 * keep)) - 1);
    const std::uint64_t result = trailing ? marked : word;
    std::memcpy(b->tophash, &result, sizeof result);
    if (!trailing || kept != 0) return result;
    // The whole bucket is empty now: carry on in the buckets before it.
    for (Bucket* c = b; c != first;) {
      Bucket* prev = first;
      while (prev->overflow != c) prev = prev->overflow;
      for (unsigned j = kBucketSlots; j-- > 0;) {
        if (prev->tophash[j] != kEmptyOne) return result;
        prev->tophash[j] = kEmptyRest;
      }
      c = prev;
    }
    return result;
  }

  // Go's hashGrow: allocate, then let writes evacuate incrementally.
  void hash_grow() {
    std::uint8_t bigger = 1;
    std::uint8_t f = flags_.load(std::memory_order_relaxed);
    if (!over_load_factor(count_ + 1, B_)) bigger = 0;
    Table* fresh = new Table(static_cast<std::uint8_t>(B_ + bigger));
    if (bigger == 0) f |= kSameSizeGrow;
    // Iterators live now become iterators of the old array. With none live,
    // evacuation may move instead of copy.
    const std::uint8_t had_iterator = f & kIterator;
    f &= static_cast<std::uint8_t>(~(kIterator | kOldIterator));
    if (had_iterator && live_iterators_.load(std::memory_order_acquire) != 0) f |= kOldIterator;
    flags_.store(f, std::memory_order_relaxed);
    B_ = static_cast<std::uint8_t>(B_ + bigger);
    oldbuckets_ = buckets_;
    buckets_ = fresh;
    nevacuate_ = 0;
    noverflow_ = 0;
    ++growths_;
  }

  void grow_work(std::size_t bucket) {
    evacuate(bucket & old_bucket_mask());
    if (growing()) evacuate(nevacuate_);
  }

  void evacuate(std::size_t oldbucket) {
    Bucket* b = oldbuckets_->bucket(oldbucket);
    const std::size_t newbit = old_bucket_count();
    if (!evacuated(b)) {
      // Each destination's tophash bytes are built in a register and stored
      // as one word when its bucket fills or the evacuation ends: the write
      // that follows reads that word, and a word load cannot be forwarded
      // from the byte stores before it (it would wait for them to retire).
      struct Destination {
        Bucket* b;
        unsigned i;
        std::uint64_t tophash = 0;  // destinations start empty: all emptyRest
        void flush() const noexcept {
          if (b != nullptr) std::memcpy(b->tophash, &tophash, sizeof tophash);
        }
      } xy[2] = {{buckets_->bucket(oldbucket), 0}, {nullptr, 0}};
      const bool same_size = same_size_grow();
      if (!same_size) xy[1].b = buckets_->bucket(oldbucket + newbit);
      const std::uint8_t f = flags_.load(std::memory_order_relaxed);
      // A live iterator may still read this bucket's keys (to re-look them
      // up) and hold references to its values: keep them. Go decides this
      // with its oldIterator flag, which hashGrow hands over one growth at a
      // time; an iterator that outlives two same-size growths then reads the
      // second old array unprotected. Counting live iterators has no such gap.
      const bool keep_old = (f & kOldIterator) != 0 || live_iterators_.load(std::memory_order_relaxed) != 0;
      // Two phases, so that a throwing copy (or a failed overflow
      // allocation) leaves the map as it was: first fill the destinations
      // and remember each old slot's mark, then write the marks. The marks
      // of each old bucket are one word, built in a register and written
      // whole (see Destination).
      std::uint64_t marks_inline[4];
      std::vector<std::uint64_t> marks_heap;  // chains longer than four buckets
      auto marks_of = [&](std::size_t chain_index) -> std::uint64_t& {
        return chain_index < std::size(marks_inline) ? marks_inline[chain_index]
                                                     : marks_heap[chain_index - std::size(marks_inline)];
      };
      std::size_t chain_index = 0;
      std::uint64_t bucket_marks = 0;
      std::size_t n = 0;
      try {
        for (Bucket* c = b; c != nullptr; c = c->overflow, ++chain_index) {
          // Room for this bucket's marks before anything of it moves.
          if (chain_index >= std::size(marks_inline)) marks_heap.resize(chain_index + 1 - std::size(marks_inline));
          bucket_marks = 0;
          for (unsigned i = 0; i < kBucketSlots; ++i, ++n) {
            std::uint8_t top = c->tophash[i];
            if (is_empty(top)) {
              bucket_marks |= std::uint64_t(kEvacuatedEmpty) << (8 * i);
              continue;
            }
            K& k = key_at(c, i);
            unsigned use_y = 0;
            if (!same_size) {
              const std::uint64_t hash = hash_of(k);
              if ((f & kIterator) && !kReflexive && !eq_(k, k)) {
                // NaN: an iterator filters this bucket by tophash's low bit,
                // so the half must follow it; the new tophash is fresh.
                use_y = top & 1;
                top = tophash(hash);
              } else {
                use_y = (hash & newbit) != 0 ? 1 : 0;
              }
            }
            Destination& d = xy[use_y];
            if (d.i == kBucketSlots) {
              d.flush();
              d.b = d.b->overflow != nullptr ? d.b->overflow : new_overflow(d.b);
              d.i = 0;
              d.tophash = 0;
            }
            transfer(c, i, d.b, d.i, keep_old);
            d.tophash |= std::uint64_t(top) << (8 * d.i);
            buckets_->note(use_y ? oldbucket + newbit : oldbucket, top);
            ++d.i;
            bucket_marks |= std::uint64_t(kEvacuatedX + use_y) << (8 * i);
          }
          marks_of(chain_index) = bucket_marks;
        }
      } catch (...) {
        xy[0].flush();
        xy[1].flush();
        if (n % kBucketSlots != 0) marks_of(chain_index) = bucket_marks;  // the bucket it stopped in
        // Give moved entries back to their old slots (in chain order, each
        // half's destinations are filled in the same order), then empty the
        // destinations: they were empty before, since nothing lands in a new
        // bucket before its old bucket is evacuated.
        Bucket* back[2] = {buckets_->bucket(oldbucket), same_size ? nullptr : buckets_->bucket(oldbucket + newbit)};
        unsigned back_i[2] = {0, 0};
        std::size_t m = 0;
        for (Bucket* c = b; c != nullptr && m < n; c = c->overflow) {
          for (unsigned i = 0; i < kBucketSlots && m < n; ++i, ++m) {
            const auto mark = static_cast<std::uint8_t>(marks_of(m / kBucketSlots) >> (8 * i));
            if (mark != kEvacuatedX && mark != kEvacuatedY) continue;
            const unsigned y = mark - kEvacuatedX;
            if (back_i[y] == kBucketSlots) {
              back[y] = back[y]->overflow;
              back_i[y] = 0;
            }
            if (!keep_old) untransfer(back[y], back_i[y], c, i);
            ++back_i[y];
          }
        }
        for (unsigned y = 0; y < 2; ++y) {
          if (y == 1 && same_size) break;
          for (Bucket* c = buckets_->bucket(y == 0 ? oldbucket : oldbucket + newbit); c != nullptr; c = c->overflow) {
            for (unsigned i = 0; i < kBucketSlots; ++i) {
              if (c->tophash[i] >= kMinTopHash) {
                destroy_key(c, i);
                destroy_value(c, i);
              }
              c->tophash[i] = kEmptyRest;
            }
          }
        }
        throw;
      }
      xy[0].flush();
      xy[1].flush();
      chain_index = 0;
      for (Bucket* c = b; c != nullptr; c = c->overflow) std::memcpy(c->tophash, &marks_of(chain_index++), kBucketSlots);
    }
    if (oldbucket == nevacuate_) advance_evacuation_mark(newbit);
  }

  void advance_evacuation_mark(std::size_t newbit) {
    ++nevacuate_;
    // Skip buckets evacuated out of order, but bound the work per write.
    const std::size_t stop = std::min(nevacuate_ + 1024, newbit);
    while (nevacuate_ != stop && evacuated(oldbuckets_->bucket(nevacuate_))) ++nevacuate_;
    if (nevacuate_ == newbit) {
      ++growths_done_;
      release(oldbuckets_);  // iterators that still read it hold their own reference
      oldbuckets_ = nullptr;
      flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
    }
  }

  Bucket* new_overflow(Bucket* b) {
    Bucket* ovf = buckets_->take_overflow();
    // Go counts overflow buckets exactly for small maps and samples for big
    // ones, to keep the counter in 16 bits.
    if (B_ < 16) {
      ++noverflow_;
    } else {
      const std::uint32_t mask = (std::uint32_t(1) << (B_ - 15)) - 1;
      if ((static_cast<std::uint32_t>(next_random()) & mask) == 0) ++noverflow_;
    }
    b->overflow = ovf;
    return ovf;
  }

  // Appends an entry known to be absent to its bucket's chain, without growth
  // (copy and compact size the table first).
  template <class KA, class VA>
  void place_new_entry(std::uint64_t hash, KA&& key, VA&& value) {
    Bucket* b = buckets_->bucket(hash & bucket_mask(B_));
    for (;;) {
      const std::uint64_t empties = detail::zero_bytes(tophash_word(b) & ~detail::kByteOnes);
      if (empties != 0) {
        const unsigned i = detail::byte_index(empties);
        construct_key(b, i, std::forward<KA>(key));
        try {
          construct_value(b, i, std::forward<VA>(value));
        } catch (...) {
          destroy_key(b, i);
          throw;
        }
        b->tophash[i] = tophash(hash);
        buckets_->note(hash & bucket_mask(B_), b->tophash[i]);
        ++count_;
        return;
      }
      if (b->overflow == nullptr) {
        new_overflow(b);
      }
      b = b->overflow;
    }
  }

  template <class F>
  void for_each_entry(F&& f) const {
    for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* b, unsigned i) { f(std::as_const(key_at(b, i)), std::as_const(value_at(b, i))); });
  }

  std::size_t count_ = 0;
  mutable std::atomic<std::uint8_t> flags_{0};
  std::uint8_t B_ = 0;
  std::uint16_t noverflow_ = 0;
  std::uint64_t hash0_ = 0;
  Table* buckets_ = nullptr;
  Table* oldbuckets_ = nullptr;
  std::size_t nevacuate_ = 0;
  std::uint64_t clear_seq_ = 0;
  std::uint64_t contents_epoch_ = 0;  // bumped by swap (and so by move and copy assignment); not swapped
  std::uint64_t growths_ = 0;
  std::uint64_t growths_done_ = 0;
  mutable std::atomic<std::uint64_t> rng_{0};
  mutable std::atomic<std::uint32_t> live_iterators_{0};
  [[no_unique_address]] Hash hash_{};
  [[no_unique_address]] Eq eq_{};
};

}  // namespace gomap

// The iterator and the invariant checker, each in its own file.
#include "gomap/detail/map_iterator.hpp"
#include "gomap/detail/map_invariants.hpp"
