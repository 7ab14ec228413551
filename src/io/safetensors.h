// safetensors files: reading (memory-mapped, single file or sharded through
// model.safetensors.index.json) and writing (atomic).
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}}, then the data; offsets are relative to
// the end of the header. Every offset and size is checked against the file
// before a tensor is handed out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace tc::io {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mapped file
  size_t nbytes = 0;
  std::string file;  // the file it lives in, for error messages

  int64_t numel() const;
  std::string shape_string() const;  // "[896, 4864]"
};

struct ParsedHeader {
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    size_t begin = 0;  // relative to the data section
    size_t end = 0;
  };
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  size_t data_offset = 0;  // 8 + header length
};

// Parses and validates the header of a whole safetensors file held in
// `bytes` (header length, JSON, dtypes, shapes, offsets inside the file,
// byte counts matching shapes). `path` only names the file in errors.
ParsedHeader parse_safetensors_header(std::span<const uint8_t> bytes, const std::string& path);

// One memory-mapped safetensors file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_.path(); }

 private:
  MappedFile file_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model folder: model.safetensors, or the shards listed in
// model.safetensors.index.json.
class TensorStore {
 public:
  static TensorStore open_model_dir(const std::string& dir);
  static TensorStore open_file(const std::string& path);

  // nullptr when absent.
  const TensorInfo* find(const std::string& name) const;
  // Throws tc::Error naming the folder and tensor when absent.
  const TensorInfo& get(const std::string& name) const;
  const std::map<std::string, const TensorInfo*>& all() const { return index_; }
  const std::string& source() const { return source_; }
  // Bytes of all files on disk.
  size_t bytes_on_disk() const;

 private:
  std::string source_;
  std::string listing_;  // the file that lists the tensors, for "missing tensor" errors
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorInfo*> index_;
};

// A tensor to write: raw little-endian bytes of `dtype` with `shape`.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;
};

// Writes a safetensors file atomically (temporary file, fsync, rename).
// Tensors are stored in the given order; the header is padded to 8 bytes.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The name, dtype and shape of a tensor whose bytes come later.
struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

// Writes a safetensors file whose tensors are produced one at a time, so a
// checkpoint larger than memory can be written with one tensor's worth (or
// less) of buffer. The header is written first from the known shapes; then
// the bytes of each tensor, in the order given, through any number of
// append() calls; finish() checks that every byte arrived, fsyncs and renames
// the temporary file over `path`. Until finish() nothing is visible at
// `path`; a writer destroyed before finish() removes its temporary file.
class SafetensorsWriter {
 public:
  SafetensorsWriter(const std::string& path, const std::vector<TensorSpec>& tensors,
                    const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Appends bytes of the current tensor (moving on to the next one when it
  // is full); throws if more bytes are given than the tensors hold.
  void append(std::span<const uint8_t> bytes);
  void finish();

  // Bytes of tensor data expected in all, and appended so far.
  size_t data_bytes() const { return data_bytes_; }
  size_t data_written() const { return data_written_; }
  // Size of the whole file (header included).
  size_t file_bytes() const { return header_bytes_ + data_bytes_; }

 private:
  void write_raw(const uint8_t* data, size_t size);

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  std::vector<std::string> names_;  // for error messages
  std::vector<size_t> ends_;        // cumulative end offset of each tensor
  size_t current_ = 0;              // index of the tensor being appended to
  size_t header_bytes_ = 0;
  size_t data_bytes_ = 0;
  size_t data_written_ = 0;
};

}  // namespace tc::io
