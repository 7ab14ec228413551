// Memory for weight matrices, placed in regions that transparent huge pages
// (2 MiB) can back.
//
// Decode streams every weight once per token, so every 4 KiB page of a
// matrix costs a TLB miss per token. Huge pages need 2 MiB-aligned, 2 MiB
// runs of one mapping, which a matrix of its own only fills when it is that
// large: a layer's q, k, v and o at the 0.5B shape in fp16 (1.6 MB, 229 KB,
// 229 KB, 1.6 MB) stayed on 4 KiB pages, and their walks read 52-56 GB/s
// while the MLP's read 72-76 (two threads, read bandwidth ~80 GB/s). Here
// buffers are laid end to end in shared regions (slabs), so small matrices
// share huge pages and large ones end without a padded tail.
//
// A slab hands out its space in order. A freed block's whole pages go back
// to the system at once, but only the last block handed out returns its
// space to the slab, and the slab is unmapped with its last block. Meant for
// buffers that live long and die together, as a model's weights do
// (AlignedBuffer's Placement::kHugePages), not for per-call scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace tc {

class HugePageArena {
 public:
  // AlignedBuffer places kHugePages buffers from this size up in slabs
  // (smaller ones span a few pages and gain little).
  static constexpr size_t kMinBytes = size_t{16} << 10;
  // Slabs are at least this large; a larger request gets a slab of its own
  // size (in whole 2 MiB pages), whose unused end later requests may fill.
  // Requests go to the first slab, by address, with room left at its end.
  static constexpr size_t kSlabBytes = size_t{32} << 20;
  static constexpr size_t kHugePage = size_t{2} << 20;
  // Alignment of every block (a cache line and an AVX-512 vector).
  static constexpr size_t kBlockAlignment = 64;

  HugePageArena() = default;
  // Unmaps every slab; blocks still live become invalid.
  ~HugePageArena();
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;

  // `bytes` of memory aligned to kBlockAlignment, contents unspecified.
  // Throws std::bad_alloc when the system has no memory to map.
  void* allocate(size_t bytes);
  // Returns a block from allocate; nullptr is ignored. Anything else (a
  // second release, another allocator's pointer) aborts: let through, it
  // would corrupt memory. Thread-safe, as is allocate.
  void release(void* block);
  // Slabs mapped now.
  size_t slab_count();

  // The process-wide arena AlignedBuffer uses (never destroyed: buffers in
  // static and thread-local objects may be released after main returns).
  static HugePageArena& global();

 private:
  struct Slab {
    size_t bytes = 0;  // mapped from the slab's start, a whole number of huge pages
    size_t used = 0;   // handed out from the start, in order
    size_t live = 0;   // blocks not yet released
  };
  std::mutex mutex_;
  std::map<uintptr_t, Slab> slabs_;     // by start address
  std::map<uintptr_t, size_t> blocks_;  // live blocks: start address -> bytes
};

}  // namespace tc
