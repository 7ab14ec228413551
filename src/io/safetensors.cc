#include "io/safetensors.h"

#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"

namespace tc::io {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::string TensorInfo::shape_string() const {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

namespace {

// A JSON value as a non-negative integer that fits in size_t, or an error.
size_t as_size(const json& value, const std::string& path, const std::string& what) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<uint64_t>();
  fail("{}: {} must be a non-negative integer, found {}", path, what, value.dump());
}

}  // namespace

ParsedHeader parse_safetensors_header(std::span<const uint8_t> bytes, const std::string& path) {
  if (bytes.size() < 8) {
    fail("{}: not a safetensors file: {} bytes, shorter than the 8-byte header length", path,
         bytes.size());
  }
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | bytes[i];
  if (header_length > bytes.size() - 8) {
    fail("{}: corrupt safetensors file: header length {} runs past the end of the file ({} bytes)",
         path, header_length, bytes.size());
  }
  ParsedHeader parsed;
  parsed.data_offset = 8 + header_length;
  const size_t data_size = bytes.size() - parsed.data_offset;

  const auto* begin = reinterpret_cast<const char*>(bytes.data() + 8);
  json header = json::parse(begin, begin + header_length, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) fail("{}: corrupt safetensors file: header is not valid JSON", path);
  if (!header.is_object()) fail("{}: corrupt safetensors file: header is not a JSON object", path);

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("{}: __metadata__ must be an object of strings", path);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail("{}: __metadata__.{} must be a string", path, key);
        parsed.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) fail("{}: {}: entry is not a JSON object", path, where);
    const auto dtype_field = entry.find("dtype");
    const auto shape_field = entry.find("shape");
    const auto offsets_field = entry.find("data_offsets");
    if (dtype_field == entry.end() || !dtype_field->is_string()) {
      fail("{}: {}: missing string field 'dtype'", path, where);
    }
    if (shape_field == entry.end() || !shape_field->is_array()) {
      fail("{}: {}: missing array field 'shape'", path, where);
    }
    if (offsets_field == entry.end() || !offsets_field->is_array() || offsets_field->size() != 2) {
      fail("{}: {}: missing field 'data_offsets' [begin, end]", path, where);
    }
    ParsedHeader::Entry tensor;
    tensor.name = name;
    const auto dtype = parse_dtype(dtype_field->get<std::string>());
    if (!dtype) {
      fail("{}: {}: unsupported dtype '{}'", path, where, dtype_field->get<std::string>());
    }
    tensor.dtype = *dtype;
    // Element count with overflow checks: a corrupt shape must not wrap around.
    size_t numel = 1;
    for (const auto& dim : *shape_field) {
      const size_t extent = as_size(dim, path, where + " shape entry");
      if (extent != 0 && numel > std::numeric_limits<size_t>::max() / extent) {
        fail("{}: {}: shape {} is too large", path, where, shape_field->dump());
      }
      numel *= extent;
      tensor.shape.push_back(static_cast<int64_t>(extent));
    }
    tensor.begin = as_size((*offsets_field)[0], path, where + " data_offsets[0]");
    tensor.end = as_size((*offsets_field)[1], path, where + " data_offsets[1]");
    if (tensor.begin > tensor.end || tensor.end > data_size) {
      fail("{}: {}: data_offsets [{}, {}] out of range (data section is {} bytes)", path, where,
           tensor.begin, tensor.end, data_size);
    }
    const size_t element = dtype_size(tensor.dtype);
    if (numel > std::numeric_limits<size_t>::max() / element ||
        numel * element != tensor.end - tensor.begin) {
      fail("{}: {}: {} {} needs {} bytes but data_offsets span {}", path, where,
           dtype_name(tensor.dtype), shape_field->dump(), numel * element,
           tensor.end - tensor.begin);
    }
    parsed.entries.push_back(std::move(tensor));
  }
  return parsed;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  ParsedHeader header = parse_safetensors_header(file_.bytes(), path);
  metadata_ = std::move(header.metadata);
  for (auto& entry : header.entries) {
    TensorInfo info;
    info.name = entry.name;
    info.dtype = entry.dtype;
    info.shape = std::move(entry.shape);
    info.data = file_.data() + header.data_offset + entry.begin;
    info.nbytes = entry.end - entry.begin;
    info.file = path;
    tensors_.emplace(entry.name, std::move(info));
  }
}

TensorStore TensorStore::open_file(const std::string& path) {
  TensorStore store;
  store.source_ = path;
  store.files_.push_back(std::make_unique<SafetensorsFile>(path));
  for (const auto& [name, info] : store.files_.back()->tensors()) store.index_[name] = &info;
  return store;
}

TensorStore TensorStore::open_model_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("{}: no such model folder", dir);
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single, ec)) {
    TensorStore store = open_file(single.string());
    store.source_ = dir;
    return store;
  }
  if (!fs::exists(index_path, ec)) {
    fail("{}: no model.safetensors or model.safetensors.index.json in the model folder", dir);
  }
  const MappedFile index_file(index_path.string());
  const auto* text = reinterpret_cast<const char*>(index_file.data());
  json index = json::parse(text, text + index_file.size(), nullptr, false);
  if (index.is_discarded() || !index.is_object()) {
    fail("{}: not valid JSON", index_path.string());
  }
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) {
    fail("{}: missing object 'weight_map'", index_path.string());
  }
  TensorStore store;
  store.source_ = dir;
  std::map<std::string, SafetensorsFile*> shards;
  for (const auto& [name, shard_value] : weight_map->items()) {
    if (!shard_value.is_string()) {
      fail("{}: weight_map.{} must be a file name", index_path.string(), name);
    }
    const std::string shard = shard_value.get<std::string>();
    if (shard.find('/') != std::string::npos || shard == ".." || shard.empty()) {
      fail("{}: weight_map.{}: shard name '{}' must be a file in the model folder",
           index_path.string(), name, shard);
    }
    auto found = shards.find(shard);
    if (found == shards.end()) {
      store.files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / shard).string()));
      found = shards.emplace(shard, store.files_.back().get()).first;
    }
    const auto tensor = found->second->tensors().find(name);
    if (tensor == found->second->tensors().end()) {
      fail("{}: index says tensor '{}' is in {}, but it is not there", index_path.string(), name,
           shard);
    }
    store.index_[name] = &tensor->second;
  }
  return store;
}

const TensorInfo* TensorStore::find(const std::string& name) const {
  const auto found = index_.find(name);
  return found == index_.end() ? nullptr : found->second;
}

const TensorInfo& TensorStore::get(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) fail("{}: missing tensor '{}'", source_, name);
  return *info;
}

size_t TensorStore::bytes_on_disk() const {
  size_t total = 0;
  std::error_code ec;
  for (const auto& file : files_) total += fs::file_size(file->path(), ec);
  return total;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& tensor : tensors) {
    size_t numel = 1;
    for (int64_t dim : tensor.shape) numel *= static_cast<size_t>(dim);
    if (numel * dtype_size(tensor.dtype) != tensor.bytes.size()) {
      fail("{}: tensor '{}': {} bytes given for shape of {} elements of {}", path, tensor.name,
           tensor.bytes.size(), numel, dtype_name(tensor.dtype));
    }
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  std::string header_text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  uint8_t length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<uint8_t>(header_text.size() >> (8 * i));

  std::vector<std::span<const uint8_t>> parts;
  parts.emplace_back(length_bytes, 8);
  parts.emplace_back(reinterpret_cast<const uint8_t*>(header_text.data()), header_text.size());
  for (const auto& tensor : tensors) parts.push_back(tensor.bytes);
  write_file_atomic(path, parts);
}

}  // namespace tc::io
