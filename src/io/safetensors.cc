#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tc::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The reference implementation refuses headers above 100 MB; so do we, which
// also bounds what a corrupt length field can make us parse.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A short description of a JSON value for an error message. Containers are
// not dumped: dump() recurses, and a hostile header could nest deep enough to
// exhaust the stack while we only wanted to complain about it.
std::string describe(const json& value) {
  if (value.is_array()) return fmt::format("an array of {} entries", value.size());
  if (value.is_object()) return fmt::format("an object of {} entries", value.size());
  std::string text = value.dump();
  if (text.size() > 64) text = text.substr(0, 60) + "...";
  return text;
}

// A JSON value as a non-negative integer that fits in int64_t, or an error.
uint64_t as_count(const json& value, const std::string& path, const std::string& what) {
  uint64_t count = 0;
  if (value.is_number_unsigned()) {
    count = value.get<uint64_t>();
  } else if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    count = static_cast<uint64_t>(value.get<int64_t>());
  } else {
    fail("{}: {} must be a non-negative integer, found {}", path, what, describe(value));
  }
  if (count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    fail("{}: {} is too large ({})", path, what, count);
  }
  return count;
}

// Bytes of a tensor of `shape` and `dtype`, refusing shapes whose element
// count (with zero extents read as one) does not fit in int64_t, so that no
// later product over the shape can overflow.
size_t checked_nbytes(const std::vector<int64_t>& shape, DType dtype, const std::string& path,
                      const std::string& where) {
  constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t product = 1;  // zero extents read as one
  bool empty = false;
  for (int64_t dim : shape) {
    if (dim < 0) fail("{}: {}: negative extent in shape {}", path, where, shape_text(shape));
    if (dim == 0) {
      empty = true;
      continue;
    }
    const auto extent = static_cast<uint64_t>(dim);
    if (product > kLimit / extent) {
      fail("{}: {}: shape {} is too large", path, where, shape_text(shape));
    }
    product *= extent;
  }
  const size_t element = dtype_size(dtype);
  if (product > kLimit / element) {
    fail("{}: {}: shape {} is too large", path, where, shape_text(shape));
  }
  return empty ? 0 : static_cast<size_t>(product * element);
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::string TensorInfo::shape_string() const { return shape_text(shape); }

ParsedHeader parse_safetensors_header(std::span<const uint8_t> bytes, const std::string& path) {
  if (bytes.size() < 8) {
    fail(
        "{}: not a safetensors file: {} bytes, shorter than the 8-byte header length "
        "(truncated?)",
        path, bytes.size());
  }
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | bytes[i];
  if (header_length > bytes.size() - 8) {
    fail(
        "{}: corrupt safetensors file: header length {} runs past the end of the file ({} bytes; "
        "truncated?)",
        path, header_length, bytes.size());
  }
  if (header_length > kMaxHeaderBytes) {
    fail("{}: corrupt safetensors file: header length {} is above the {} byte limit", path,
         header_length, kMaxHeaderBytes);
  }
  ParsedHeader parsed;
  parsed.data_offset = 8 + header_length;
  const size_t data_size = bytes.size() - parsed.data_offset;

  const auto* begin = reinterpret_cast<const char*>(bytes.data() + 8);
  json header = json::parse(begin, begin + header_length, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    fail("{}: corrupt safetensors file: header is not valid JSON", path);
  }
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
      fail("{}: {}: unsupported dtype {}", path, where, describe(*dtype_field));
    }
    tensor.dtype = *dtype;
    for (const auto& dim : *shape_field) {
      tensor.shape.push_back(static_cast<int64_t>(as_count(dim, path, where + " shape entry")));
    }
    const size_t nbytes = checked_nbytes(tensor.shape, tensor.dtype, path, where);
    tensor.begin = as_count((*offsets_field)[0], path, where + " data_offsets[0]");
    tensor.end = as_count((*offsets_field)[1], path, where + " data_offsets[1]");
    if (tensor.begin > tensor.end) {
      fail("{}: {}: data_offsets [{}, {}] end before they begin", path, where, tensor.begin,
           tensor.end);
    }
    if (tensor.end > data_size) {
      fail(
          "{}: {}: data_offsets [{}, {}] out of range: the data section is only {} bytes "
          "(truncated file or corrupt offsets)",
          path, where, tensor.begin, tensor.end, data_size);
    }
    if (nbytes != tensor.end - tensor.begin) {
      fail(
          "{}: {}: byte count does not match the shape: {} {} needs {} bytes but data_offsets "
          "[{}, {}] span {}",
          path, where, dtype_name(tensor.dtype), shape_text(tensor.shape), nbytes, tensor.begin,
          tensor.end, tensor.end - tensor.begin);
    }
    parsed.entries.push_back(std::move(tensor));
  }

  // As in the reference implementation, the tensors must tile the data
  // section exactly: no overlaps (two tensors sharing bytes), no gaps, no
  // trailing bytes.
  std::vector<const ParsedHeader::Entry*> by_offset;
  for (const auto& entry : parsed.entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t covered = 0;
  for (const auto* entry : by_offset) {
    if (entry->begin != covered) {
      fail(
          "{}: tensor '{}': data_offsets [{}, {}] {} the previous tensor's bytes (expected it to "
          "start at {})",
          path, entry->name, entry->begin, entry->end,
          entry->begin < covered ? "overlap" : "leave a gap after", covered);
    }
    covered = entry->end;
  }
  if (covered != data_size) {
    fail("{}: corrupt safetensors file: the tensors cover {} bytes but the data section holds {}",
         path, covered, data_size);
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
  store.listing_ = path;
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
    fail(
        "{}: missing model.safetensors (and no model.safetensors.index.json for a sharded "
        "checkpoint) in the model folder",
        dir);
  }
  const std::string index_name = index_path.string();
  const MappedFile index_file(index_name);
  if (index_file.size() == 0) fail("{}: empty file", index_name);
  const auto* text = reinterpret_cast<const char*>(index_file.data());
  json index = json::parse(text, text + index_file.size(), nullptr, false);
  if (index.is_discarded() || !index.is_object()) {
    fail("{}: not valid JSON (or not a JSON object)", index_name);
  }
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) {
    fail("{}: missing object 'weight_map'", index_name);
  }
  TensorStore store;
  store.source_ = dir;
  store.listing_ = index_name;
  std::map<std::string, SafetensorsFile*> shards;
  for (const auto& [name, shard_value] : weight_map->items()) {
    if (!shard_value.is_string()) {
      fail("{}: weight_map.{} must be a file name, found {}", index_name, name,
           describe(shard_value));
    }
    const std::string shard = shard_value.get<std::string>();
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos) {
      fail("{}: weight_map.{}: shard name '{}' must be a file in the model folder", index_name,
           name, shard);
    }
    auto found = shards.find(shard);
    if (found == shards.end()) {
      const fs::path shard_path = fs::path(dir) / shard;
      if (!fs::exists(shard_path, ec)) {
        fail("{}: weight_map.{}: shard file {} is missing", index_name, name, shard_path.string());
      }
      store.files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
      found = shards.emplace(shard, store.files_.back().get()).first;
    }
    const auto tensor = found->second->tensors().find(name);
    if (tensor == found->second->tensors().end()) {
      fail("{}: index says tensor '{}' is in {}, but it is not there", index_name, name, shard);
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
  if (info == nullptr) fail("{}: missing tensor '{}'", listing_, name);
  return *info;
}

size_t TensorStore::bytes_on_disk() const {
  size_t total = 0;
  std::error_code ec;
  for (const auto& file : files_) {
    const auto size = fs::file_size(file->path(), ec);
    if (!ec) total += size;
  }
  return total;
}

// ---------------------------------------------------------------------------
// Writing.

SafetensorsWriter::SafetensorsWriter(const std::string& path,
                                     const std::vector<TensorSpec>& tensors,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  size_t offset = 0;
  for (const auto& tensor : tensors) {
    const std::string where = "tensor '" + tensor.name + "'";
    if (tensor.name == "__metadata__") fail("{}: '__metadata__' is not a tensor name", path);
    if (!seen.insert(tensor.name).second) fail("{}: {} is written twice", path, where);
    const size_t nbytes = checked_nbytes(tensor.shape, tensor.dtype, path, where);
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    names_.push_back(tensor.name);
    ends_.push_back(offset);
  }
  data_bytes_ = offset;

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const json::exception&) {
    // dump() refuses strings that are not UTF-8; JSON cannot hold them.
    fail("{}: tensor names and metadata must be valid UTF-8", path);
  }
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  uint8_t length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<uint8_t>(header_text.size() >> (8 * i));
  header_bytes_ = 8 + header_text.size();

  // Hidden temporary name beside the target, so the final rename stays on one file system.
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp_name = target.filename().string();
  temp_name.insert(0, 1, '.');  // not "." + name: GCC 12 warns falsely (-Wrestrict) on that
  temp_name.append(".tmp.XXXXXX");
  temp_path_ = (folder / temp_name).string();
  fd_ = ::mkstemp(temp_path_.data());
  if (fd_ < 0) fail("{}: cannot create temporary file: {}", path, std::strerror(errno));
  write_raw(length_bytes, 8);
  write_raw(reinterpret_cast<const uint8_t*>(header_text.data()), header_text.size());
}

SafetensorsWriter::~SafetensorsWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void SafetensorsWriter::write_raw(const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd_, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed: {}", temp_path_, std::strerror(errno));
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
}

void SafetensorsWriter::append(std::span<const uint8_t> bytes) {
  if (fd_ < 0) fail("{}: append after finish", path_);
  if (bytes.size() > data_bytes_ - data_written_) {
    fail("{}: {} more bytes given than the tensors hold ({} of {} written)", path_,
         bytes.size() - (data_bytes_ - data_written_), data_written_, data_bytes_);
  }
  write_raw(bytes.data(), bytes.size());
  data_written_ += bytes.size();
  while (current_ < ends_.size() && data_written_ >= ends_[current_]) ++current_;
}

void SafetensorsWriter::finish() {
  if (fd_ < 0) fail("{}: finish called twice", path_);
  if (data_written_ != data_bytes_) {
    const size_t begin = current_ == 0 ? 0 : ends_[current_ - 1];
    fail("{}: tensor '{}' is incomplete: {} of its {} bytes were written", path_, names_[current_],
         data_written_ - begin, ends_[current_] - begin);
  }
  if (::fsync(fd_) != 0) fail("{}: fsync failed: {}", temp_path_, std::strerror(errno));
  if (::fchmod(fd_, 0644) != 0) fail("{}: chmod failed: {}", temp_path_, std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp_path_.c_str());
    fail("{}: rename from {} failed: {}", path_, temp_path_, std::strerror(saved));
  }
  // Make the rename itself durable.
  const fs::path target(path_);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& tensor : tensors) {
    const size_t nbytes =
        checked_nbytes(tensor.shape, tensor.dtype, path, "tensor '" + tensor.name + "'");
    if (nbytes != tensor.bytes.size()) {
      fail("{}: tensor '{}': {} bytes given, but {} {} needs {}", path, tensor.name,
           tensor.bytes.size(), dtype_name(tensor.dtype), shape_text(tensor.shape), nbytes);
    }
    specs.push_back({tensor.name, tensor.dtype, tensor.shape});
  }
  SafetensorsWriter writer(path, specs, metadata);
  for (const auto& tensor : tensors) writer.append(tensor.bytes);
  writer.finish();
}

}  // namespace tc::io
