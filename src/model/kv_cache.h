// The key/value cache: what attention has seen so far, per layer.
//
// An interface so the storage format can change (fp32, fp16 now; int8 with
// per-token, per-head scales later) without the forward pass knowing. Length
// can be rolled back with crop(n), which speculative decoding needs when
// draft tokens are rejected.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "model/config.h"

namespace tc::model {

enum class KvFormat : uint8_t { kF32, kF16 };

class KvCache {
 public:
  virtual ~KvCache() = default;

  // Tokens whose keys and values are stored in every layer.
  int64_t length() const { return length_; }
  // Forgets every token from position n on (n <= length()).
  void crop(int64_t n);
  // Marks n more tokens as stored, once every layer has written them.
  void commit(int64_t n) { length_ += n; }

  // Stores keys and values ([n, kv_dim] each) of positions pos .. pos+n-1 of one layer.
  virtual void write(int64_t layer, int64_t pos, int64_t n, const float* keys,
                     const float* values) = 0;
  // fp32 keys and values of positions 0 .. end-1 of one layer as rows,
  // [end, kv_dim] each (prefill), in buffers owned by the cache (copied out
  // of its tiles), valid until the next call.
  struct View {
    const float* keys;
    const float* values;
  };
  virtual View read(int64_t layer, int64_t end) = 0;
  // The stored keys and values of one layer in place, for decode attention
  // to read itself (no copy): KV tiles (kernels/cpu/attention.h) holding at
  // least length() positions, fp32 (tiles) or fp16 as IEEE half bits
  // (tiles16, half the bytes per step); the other one null.
  struct DecodeView {
    const float* tiles = nullptr;
    const uint16_t* tiles16 = nullptr;
  };
  virtual DecodeView read_decode(int64_t layer) const = 0;

  virtual KvFormat format() const = 0;
  // Bytes stored per token across all layers (keys and values).
  virtual size_t bytes_per_token() const = 0;

 protected:
  int64_t length_ = 0;
};

std::unique_ptr<KvCache> make_kv_cache(KvFormat format, const ModelConfig& config);
std::string_view kv_format_name(KvFormat format);
// "f32" or "f16" (the command-line spelling); anything else fails, naming it.
KvFormat parse_kv_format(std::string_view name);

}  // namespace tc::model
