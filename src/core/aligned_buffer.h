// Owning, 64-byte aligned storage for activations and converted weights.
//
// Weight matrices ask for Placement::kHugePages: their buffers are laid end
// to end in regions backed by transparent huge pages (core/huge_page_arena.h),
// because decode streams every weight once per token and with 4 KiB pages
// the TLB misses cap the read bandwidth well below what the memory delivers
// (measured here: ~49 vs ~80 GB/s on two threads). Everything else comes
// from the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>

#include "core/huge_page_arena.h"

namespace tc {

enum class Placement : uint8_t {
  kHeap,       // the C heap (scratch, small or short-lived buffers)
  kHugePages,  // HugePageArena::global(): long-lived buffers streamed by decode
};

template <typename T>
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  // An empty buffer whose resize places its storage as `placement` says.
  explicit AlignedBuffer(Placement placement) : placement_(placement) {}
  explicit AlignedBuffer(size_t count, Placement placement = Placement::kHeap)
      : placement_(placement) {
    resize(count);
  }

  // Reallocates to `count` zeroed elements (old contents are dropped).
  void resize(size_t count) {
    data_.reset();
    size_ = count;
    if (count == 0) return;
    const size_t bytes = (count * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    const bool arena = placement_ == Placement::kHugePages && bytes >= HugePageArena::kMinBytes;
    void* memory =
        arena ? HugePageArena::global().allocate(bytes) : std::aligned_alloc(kAlignment, bytes);
    if (memory == nullptr) throw std::bad_alloc();
    std::memset(memory, 0, bytes);
    data_ = std::unique_ptr<T, Free>(static_cast<T*>(memory), Free{arena});
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }
  std::span<T> span() { return {data_.get(), size_}; }
  std::span<const T> span() const { return {data_.get(), size_}; }

 private:
  struct Free {
    bool arena = false;
    void operator()(T* pointer) const {
      if (arena) {
        HugePageArena::global().release(pointer);
      } else {
        std::free(pointer);
      }
    }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
  Placement placement_ = Placement::kHeap;
};

}  // namespace tc
