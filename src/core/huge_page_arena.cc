#include "core/huge_page_arena.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <new>

namespace tc {

namespace {

constexpr size_t kPage = size_t{4} << 10;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// `bytes` (whole huge pages) mapped from a 2 MiB boundary and marked for
// huge pages. mmap aligns to 4 KiB only, so one huge page more is mapped and
// both ends trimmed.
uintptr_t map_slab(size_t bytes) {
  const size_t span = bytes + HugePageArena::kHugePage;
  void* mapped = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  const auto raw = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t start = round_up(raw, HugePageArena::kHugePage);
  const uintptr_t end = start + bytes;
  if (start > raw) munmap(mapped, start - raw);
  if (raw + span > end) munmap(reinterpret_cast<void*>(end), raw + span - end);
  // Advisory only: where THP is off the slab keeps 4 KiB pages.
  madvise(reinterpret_cast<void*>(start), bytes, MADV_HUGEPAGE);
  return start;
}

}  // namespace

HugePageArena::~HugePageArena() {
  for (const auto& [start, slab] : slabs_) munmap(reinterpret_cast<void*>(start), slab.bytes);
}

void* HugePageArena::allocate(size_t bytes) {
  const size_t need = round_up(bytes > 0 ? bytes : 1, kBlockAlignment);
  std::lock_guard<std::mutex> lock(mutex_);
  uintptr_t block = 0;
  for (auto& [start, slab] : slabs_) {
    if (slab.bytes - slab.used >= need) {
      block = start + slab.used;
      slab.used += need;
      ++slab.live;
      break;
    }
  }
  if (block == 0) {
    const size_t slab_bytes = need > kSlabBytes ? round_up(need, kHugePage) : kSlabBytes;
    block = map_slab(slab_bytes);
    slabs_[block] = Slab{slab_bytes, need, 1};
  }
  blocks_[block] = need;
  return reinterpret_cast<void*>(block);
}

void HugePageArena::release(void* block) {
  if (block == nullptr) return;
  const auto address = reinterpret_cast<uintptr_t>(block);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto live = blocks_.find(address);
  if (live == blocks_.end()) {
    std::fprintf(stderr, "HugePageArena: release of %p, which is not a live block\n", block);
    std::abort();
  }
  const uintptr_t end = address + live->second;
  blocks_.erase(live);
  const auto it = std::prev(slabs_.upper_bound(address));
  Slab& slab = it->second;
  if (--slab.live == 0) {
    munmap(reinterpret_cast<void*>(it->first), slab.bytes);
    slabs_.erase(it);
    return;
  }
  // The slab lives on. The last block handed out gives its space back to
  // the slab; any other block's space is not handed out again. Either way
  // its whole pages go back to the system now (a huge page they share with
  // live blocks is split for that).
  if (end == it->first + slab.used) slab.used = address - it->first;
  const uintptr_t first_page = round_up(address, kPage), last_page = end / kPage * kPage;
  if (last_page > first_page) {
    madvise(reinterpret_cast<void*>(first_page), last_page - first_page, MADV_DONTNEED);
  }
}

size_t HugePageArena::slab_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  return slabs_.size();
}

HugePageArena& HugePageArena::global() {
  static HugePageArena* const arena = new HugePageArena;
  return *arena;
}

}  // namespace tc
