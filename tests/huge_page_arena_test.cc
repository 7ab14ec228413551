// HugePageArena: where blocks go, when slabs come and go, and that weight
// matrices land in mappings marked for huge pages.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/huge_page_arena.h"
#include "weights/weight_matrix.h"

namespace tc {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

uintptr_t address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// The mapping (from /proc/self/smaps) that holds `p`.
struct Mapping {
  uintptr_t start = 0, end = 0;
  std::string flags;  // the VmFlags line's two-letter flags
};
Mapping mapping_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  Mapping found;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> start >> dash >> end && dash == '-' &&
        line.find(':') > line.find(' ')) {
      inside = address(p) >= start && address(p) < end;
      if (inside) found = {start, end, ""};
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      found.flags = line.substr(8);
      return found;
    }
  }
  return found;
}

bool marked_for_huge_pages(const Mapping& m) { return m.flags.find(" hg") != std::string::npos; }

TEST(HugePageArena, LaysALayersSmallMatricesEndToEndInOneSlab) {
  HugePageArena arena;
  // q, k, v and o of a 0.5B-shape layer in fp16.
  const size_t sizes[] = {896 * 896 * 2, 128 * 896 * 2, 128 * 896 * 2, 896 * 896 * 2};
  std::vector<void*> blocks;
  for (size_t bytes : sizes) blocks.push_back(arena.allocate(bytes));
  EXPECT_EQ(arena.slab_count(), 1u);
  EXPECT_EQ(address(blocks[0]) % HugePageArena::kHugePage, 0u);
  for (size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_EQ(address(blocks[i]), address(blocks[i - 1]) + sizes[i - 1]) << "block " << i;
  }
  for (size_t i = 0; i < blocks.size(); ++i) std::memset(blocks[i], int(i + 1), sizes[i]);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto* bytes = static_cast<const unsigned char*>(blocks[i]);
    EXPECT_EQ(bytes[0], i + 1);
    EXPECT_EQ(bytes[sizes[i] - 1], i + 1);
  }
  const Mapping slab = mapping_of(blocks[0]);
  ASSERT_NE(slab.end, 0u) << "no mapping in /proc/self/smaps holds the slab";
  EXPECT_EQ(slab.start % HugePageArena::kHugePage, 0u);
  EXPECT_EQ((slab.end - slab.start) % HugePageArena::kHugePage, 0u);
  EXPECT_TRUE(marked_for_huge_pages(slab)) << "VmFlags:" << slab.flags;
  for (void* block : blocks) arena.release(block);
  EXPECT_EQ(arena.slab_count(), 0u);
}

TEST(HugePageArena, GivesALargeBlockItsOwnSlabAndFillsItsEnd) {
  HugePageArena arena;
  void* large = arena.allocate(33 * kMiB);  // slab of 34 MiB: 1 MiB left at its end
  void* fits = arena.allocate(kMiB / 2);
  EXPECT_EQ(arena.slab_count(), 1u);
  EXPECT_EQ(address(fits), address(large) + 33 * kMiB);
  void* too_big = arena.allocate(kMiB);  // 0.5 MiB left: a new, regular slab
  EXPECT_EQ(arena.slab_count(), 2u);
  EXPECT_EQ(address(too_big) % HugePageArena::kHugePage, 0u);
  // Blocks come back 64-byte aligned whatever their size.
  void* odd = arena.allocate(100);
  void* after = arena.allocate(1);
  EXPECT_EQ(address(odd) % HugePageArena::kBlockAlignment, 0u);
  EXPECT_EQ(address(after), address(odd) + 128);
  for (void* block : {large, fits, too_big, odd, after}) arena.release(block);
  EXPECT_EQ(arena.slab_count(), 0u);
}

TEST(HugePageArena, UnmapsASlabWithItsLastBlockAndReusesOnlyTheLastHandedOut) {
  HugePageArena arena;
  void* first = arena.allocate(kMiB);
  void* second = arena.allocate(kMiB);
  // The last block handed out returns its space: the next block takes it.
  arena.release(second);
  void* again = arena.allocate(kMiB);
  EXPECT_EQ(again, second);
  // An earlier block's space is not handed out again.
  arena.release(first);
  void* third = arena.allocate(kMiB);
  EXPECT_EQ(address(third), address(again) + kMiB);
  EXPECT_EQ(arena.slab_count(), 1u);
  arena.release(again);
  arena.release(third);
  EXPECT_EQ(arena.slab_count(), 0u);
}

TEST(HugePageArenaDeathTest, RefusesToReleaseWhatIsNotALiveBlock) {
  HugePageArena arena;
  void* block = arena.allocate(kMiB);
  int local = 0;
  EXPECT_DEATH(arena.release(&local), "not a live block");
  arena.release(block);
  EXPECT_DEATH(arena.release(block), "not a live block");
}

TEST(HugePageArena, WeightMatricesLiveInHugePageMappingsAndScratchDoesNot) {
  std::vector<float> values(128 * 896, 0.25f);
  const weights::WeightMatrix k_proj = weights::make_f32_matrix(128, 896, values.data());
  const Mapping weights = mapping_of(k_proj.storage.data());
  EXPECT_TRUE(marked_for_huge_pages(weights)) << "VmFlags:" << weights.flags;
  EXPECT_EQ(k_proj.f32()[128 * 896 - 1], 0.25f);

  const AlignedBuffer<float> scratch(128 * 896);
  EXPECT_FALSE(marked_for_huge_pages(mapping_of(scratch.data())));
  // Zeroed and aligned either way.
  AlignedBuffer<float> placed(100000, Placement::kHugePages);
  EXPECT_EQ(address(placed.data()) % AlignedBuffer<float>::kAlignment, 0u);
  EXPECT_EQ(placed[0], 0.0f);
  EXPECT_EQ(placed[99999], 0.0f);
}

}  // namespace
}  // namespace tc
