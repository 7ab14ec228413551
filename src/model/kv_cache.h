// The key/value cache: what attention has seen so far, per layer.
//
// An interface so the storage format can change (fp32, fp16, int8 with
// per-position, per-head scales) without the forward pass knowing: a
// layer is handed to attention as a tagged view (kv/kv_layout.h),
// and only the attention kernels look inside it. Length can be rolled back
// with crop(n), which speculative decoding needs when draft tokens are
// rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kv/kv_layout.h"
#include "model/config.h"

namespace tc::model {

using kv::kv_format_name;
using kv::KvFormat;
using kv::KvView;
using kv::parse_kv_format;

class KvCache {
 public:
  virtual ~KvCache() = default;

  // Tokens whose keys and values are stored in every layer.
  int64_t length() const { return length_; }
  // Forgets every token from position n on (n <= length()); later writes
  // overwrite their slots.
  void crop(int64_t n);
  // Marks n more tokens as stored, once every layer has written them.
  void commit(int64_t n) { length_ += n; }

  // Stores keys and values ([n, kv_dim] each) of positions pos .. pos+n-1 of one layer.
  virtual void write(int64_t layer, int64_t pos, int64_t n, const float* keys,
                     const float* values) = 0;
  // The stored keys and values of one layer in place (no copy), for
  // attention to read: KV tiles holding at least length() positions (and
  // whatever write() stored beyond it), valid until the next write.
  virtual KvView view(int64_t layer) const = 0;

  virtual KvFormat format() const = 0;
  // Bytes stored per token across all layers (keys, values and any scales),
  // as the storage holds them: what decode attention reads per position.
  virtual size_t bytes_per_token() const = 0;
  // Bytes the storage holds for the first length() positions, counted from
  // what each layer has written (its elements and scales of those
  // positions), not from bytes_per_token(): a layer left unwritten counts
  // nothing. The KV probe checks it against the analytic size.
  virtual size_t stored_bytes() const = 0;
  // Bytes the storage has allocated: every layer's capacity, including the
  // unused slots of its last block and the room geometric growth keeps.
  virtual size_t allocated_bytes() const = 0;

 protected:
  // Called by crop(n): storage that tracks what it holds forgets position n on.
  virtual void forget_from(int64_t n) = 0;

  int64_t length_ = 0;
};

std::unique_ptr<KvCache> make_kv_cache(KvFormat format, const ModelConfig& config);

}  // namespace tc::model
