// Uses an installed gomap through find_package(gomap) + gomap::gomap.
// Exits 0 when the map behaves, 1 otherwise.
#include <gomap/map.hpp>
#include <gomap/sharded_map.hpp>
#include <gomap/sync_map.hpp>

#include <cstdio>

int main() {
    gomap::Map<int, int> m;
    for (int i = 0; i < 1000; ++i) m.insert_or_assign(i, i * 3);
    if (m.size() != 1000) {
        std::fprintf(stderr, "size %zu, want 1000\n", static_cast<std::size_t>(m.size()));
        return 1;
    }
    for (int i = 0; i < 1000; ++i) {
        const auto* v = m.find(i);
        if (v == nullptr || *v != i * 3) {
            std::fprintf(stderr, "find(%d) wrong\n", i);
            return 1;
        }
    }
    if (m.find(1000) != nullptr || m.contains(-1)) {
        std::fprintf(stderr, "absent key found\n");
        return 1;
    }
    long long sum = 0;
    for (auto&& [k, v] : m) sum += v - 3 * k;
    if (sum != 0) {
        std::fprintf(stderr, "iteration yielded wrong pairs\n");
        return 1;
    }
    // The concurrent maps, so that every installed header (detail/ included) is compiled.
    gomap::SyncMap<int, int> sm;
    gomap::ShardedMap<int, int> shm;
    sm.store(1, 2);
    shm.store(1, 2);
    if (sm.load(1) != 2 || shm.load(1) != 2) {
        std::fprintf(stderr, "concurrent maps lost a store\n");
        return 1;
    }
    std::puts("gomap package consumer: OK");
    return 0;
}
