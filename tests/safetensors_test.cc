// safetensors: writer round trips (every dtype, empty and scalar tensors,
// metadata, the streaming writer) and the header parser on hand-made bytes,
// valid and corrupt.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "error_of.h"
#include "io/safetensors.h"
#include "test_paths.h"

namespace tc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() : path_(test::make_temp_dir()) {}
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::span<const uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A safetensors image: 8-byte length, the header text as given (padded with
// spaces to 8 bytes unless `pad` is false), then `data`.
std::string image(const std::string& header, const std::string& data = "", bool pad = true) {
  std::string text = header;
  if (pad) text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(text.size() >> (8 * i));
  return out + text + data;
}

using test::error_of;

std::string parse_error(const std::string& bytes) {
  return error_of([&] { io::parse_safetensors_header(as_bytes(bytes), "case.safetensors"); });
}

// Pattern bytes, different for every tensor.
std::vector<uint8_t> pattern(size_t n, uint8_t salt) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + salt);
  return bytes;
}

TEST(Safetensors, RoundTripsEveryDtypeEmptyAndScalarTensorsAndMetadata) {
  TempDir dir;
  const std::vector<DType> dtypes = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64,
                                     DType::kI64, DType::kI32, DType::kI16,  DType::kI8,
                                     DType::kU8,  DType::kBool};
  std::vector<std::vector<uint8_t>> storage;
  std::vector<io::TensorToWrite> tensors;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    const std::vector<int64_t> shape = {3, static_cast<int64_t>(i + 1)};
    storage.push_back(pattern(3 * (i + 1) * dtype_size(dtypes[i]), static_cast<uint8_t>(i)));
    tensors.push_back(
        {"t." + std::string(dtype_name(dtypes[i])), dtypes[i], shape, storage.back()});
  }
  storage.push_back(pattern(4, 99));
  tensors.push_back({"scalar", DType::kF32, {}, storage.back()});
  tensors.push_back({"empty", DType::kBF16, {0}, {}});
  tensors.push_back({"empty2d", DType::kF32, {4, 0}, {}});
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "héllo"}};
  const std::string path = dir.file("all.safetensors");
  io::write_safetensors(path, tensors, metadata);

  // The data section starts 8-byte aligned and the header is a JSON object.
  const std::string bytes = read_file(path);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + length) % 8, 0u);
  EXPECT_EQ(bytes[8], '{');

  const io::SafetensorsFile file(path);
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const auto& tensor : tensors) {
    const auto found = file.tensors().find(tensor.name);
    ASSERT_NE(found, file.tensors().end()) << tensor.name;
    const io::TensorInfo& info = found->second;
    EXPECT_EQ(info.dtype, tensor.dtype) << tensor.name;
    EXPECT_EQ(info.shape, tensor.shape) << tensor.name;
    ASSERT_EQ(info.nbytes, tensor.bytes.size()) << tensor.name;
    if (info.nbytes > 0) {  // memcmp must not see the null data of an empty span
      EXPECT_EQ(std::memcmp(info.data, tensor.bytes.data(), info.nbytes), 0) << tensor.name;
    }
    EXPECT_EQ(info.file, path);
  }
  EXPECT_EQ(file.tensors().at("scalar").numel(), 1);
  EXPECT_EQ(file.tensors().at("empty").numel(), 0);
  EXPECT_EQ(file.tensors().at("empty2d").shape_string(), "[4, 0]");
  // Nothing but the target is left in the folder (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Safetensors, RewritingAFixtureGivesTheSameTensors) {
  TempDir dir;
  const io::SafetensorsFile original(test::fixture_model("tiny-qwen2-s") + "/model.safetensors");
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, info] : original.tensors()) {
    tensors.push_back({name, info.dtype, info.shape, {info.data, info.nbytes}});
  }
  io::write_safetensors(dir.file("copy.safetensors"), tensors, original.metadata());
  const io::SafetensorsFile copy(dir.file("copy.safetensors"));
  ASSERT_EQ(copy.tensors().size(), original.tensors().size());
  for (const auto& [name, info] : original.tensors()) {
    const io::TensorInfo& other = copy.tensors().at(name);
    EXPECT_EQ(other.shape, info.shape);
    ASSERT_EQ(other.nbytes, info.nbytes);
    EXPECT_EQ(std::memcmp(other.data, info.data, info.nbytes), 0) << name;
  }
  EXPECT_EQ(fs::file_size(dir.file("copy.safetensors")),
            fs::file_size(test::fixture_model("tiny-qwen2-s") + "/model.safetensors"));
}

TEST(Safetensors, WriterRefusesInconsistentTensors) {
  TempDir dir;
  const std::vector<uint8_t> six(6);
  const std::string path = dir.file("bad.safetensors");
  std::string message = error_of([&] {
    io::write_safetensors(path, {{"a", DType::kF32, {2}, six}});
  });
  EXPECT_NE(message.find("'a': 6 bytes given, but F32 [2] needs 8"), std::string::npos) << message;
  message = error_of([&] {
    io::write_safetensors(path, {{"a", DType::kU8, {6}, six}, {"a", DType::kU8, {6}, six}});
  });
  EXPECT_NE(message.find("'a' is written twice"), std::string::npos) << message;
  message = error_of([&] {
    io::write_safetensors(path, {{"__metadata__", DType::kU8, {6}, six}});
  });
  EXPECT_NE(message.find("not a tensor name"), std::string::npos) << message;
  message = error_of([&] { io::write_safetensors(path, {{"a", DType::kU8, {-6}, six}}); });
  EXPECT_NE(message.find("negative extent"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.path())) << "a temporary file was left behind";
}

TEST(Safetensors, StreamingWriterMatchesWholeWriter) {
  TempDir dir;
  const std::vector<uint8_t> a = pattern(4 * 1000, 1), b = pattern(2 * 77, 2);
  io::write_safetensors(dir.file("whole.safetensors"),
                        {{"a", DType::kF32, {10, 100}, a},
                         {"empty", DType::kI8, {0}, {}},
                         {"b", DType::kBF16, {77}, b}},
                        {{"k", "v"}});
  {
    io::SafetensorsWriter writer(
        dir.file("stream.safetensors"),
        {{"a", DType::kF32, {10, 100}}, {"empty", DType::kI8, {0}}, {"b", DType::kBF16, {77}}},
        {{"k", "v"}});
    EXPECT_EQ(writer.data_bytes(), a.size() + b.size());
    // Chunks that straddle tensor boundaries.
    std::vector<uint8_t> all = a;
    all.insert(all.end(), b.begin(), b.end());
    for (size_t at = 0; at < all.size(); at += 333) {
      const size_t n = std::min<size_t>(333, all.size() - at);
      writer.append({all.data() + at, n});
    }
    EXPECT_FALSE(fs::exists(dir.file("stream.safetensors"))) << "visible before finish()";
    writer.finish();
    EXPECT_EQ(writer.file_bytes(), fs::file_size(dir.file("stream.safetensors")));
  }
  EXPECT_EQ(read_file(dir.file("stream.safetensors")), read_file(dir.file("whole.safetensors")));
}

TEST(Safetensors, StreamingWriterChecksByteCounts) {
  TempDir dir;
  const std::string path = dir.file("s.safetensors");
  const std::vector<uint8_t> bytes(10);
  {
    io::SafetensorsWriter writer(path, {{"x", DType::kF32, {2}}});
    const std::string message = error_of([&] { writer.append(bytes); });
    EXPECT_NE(message.find("2 more bytes given than the tensors hold"), std::string::npos)
        << message;
  }
  {
    io::SafetensorsWriter writer(path, {{"x", DType::kF32, {2}}, {"y", DType::kU8, {3}}});
    writer.append({bytes.data(), 9});
    const std::string message = error_of([&] { writer.finish(); });
    EXPECT_NE(message.find("tensor 'y' is incomplete: 1 of its 3 bytes"), std::string::npos)
        << message;
  }
  // An abandoned writer leaves nothing behind.
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(SafetensorsHeader, ParsesAValidImage) {
  const std::string bytes =
      image(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
            R"("a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"x":"y"}})",
            "ABCDEF");
  const io::ParsedHeader header = io::parse_safetensors_header(as_bytes(bytes), "ok");
  ASSERT_EQ(header.entries.size(), 2u);
  EXPECT_EQ(header.metadata.at("x"), "y");
  EXPECT_EQ(header.data_offset, bytes.size() - 6);
  for (const auto& entry : header.entries) {
    if (entry.name == "a") {
      EXPECT_EQ(entry.dtype, DType::kF16);
      EXPECT_EQ(entry.begin, 0u);
      EXPECT_EQ(entry.end, 4u);
    } else {
      EXPECT_EQ(entry.name, "b");
      EXPECT_EQ(entry.shape, std::vector<int64_t>{2});
    }
  }
  // An empty header object is a valid (empty) file.
  EXPECT_TRUE(io::parse_safetensors_header(as_bytes(image("{}")), "e").entries.empty());
}

TEST(SafetensorsHeader, RejectsCorruptImagesWithTheReason) {
  const std::string u8x4 = R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("\x10\0\0", 3), "shorter than the 8-byte header length"},
      {image("{}").substr(0, 8), "header length 8 runs past the end of the file (8 bytes"},
      {image("[1, 2]"), "header is not a JSON object"},
      {image("{\"t\": "), "header is not valid JSON"},
      {image(u8x4, "abc"), "out of range: the data section is only 3 bytes"},
      {image(u8x4, "abcde"), "the tensors cover 4 bytes but the data section holds 5"},
      {image(R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}})", "abcd"),
       "end before they begin"},
      {image(R"({"t":{"dtype":"U8","shape":[3],"data_offsets":[0,4]}})", "abcd"),
       "U8 [3] needs 3 bytes but data_offsets [0, 4] span 4"},
      {image(R"({"t":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}})", "abcd"),
       "shape entry must be a non-negative integer, found -4"},
      {image(R"({"t":{"dtype":"U8","shape":[4.0],"data_offsets":[0,4]}})", "abcd"),
       "shape entry must be a non-negative integer"},
      {image(R"({"t":{"dtype":"U8","shape":[[[4]]],"data_offsets":[0,4]}})", "abcd"),
       "found an array of 1 entries"},
      {image(R"({"t":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
             "abcd"),
       "is too large"},
      {image(R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,4]}})", "abcd"),
       "is too large"},
      {image(R"({"t":{"dtype":"U9","shape":[4],"data_offsets":[0,4]}})", "abcd"),
       "unsupported dtype \"U9\""},
      {image(R"({"t":{"shape":[4],"data_offsets":[0,4]}})", "abcd"),
       "missing string field 'dtype'"},
      {image(R"({"t":{"dtype":"U8","data_offsets":[0,4]}})", "abcd"),
       "missing array field 'shape'"},
      {image(R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[0]}})", "abcd"),
       "missing field 'data_offsets'"},
      {image(R"({"t":[1]})", "abcd"), "entry is not a JSON object"},
      {image(R"({"__metadata__":{"k":1}})"), "__metadata__.k must be a string"},
      {image(R"({"__metadata__":[]})"), "__metadata__ must be an object"},
      {image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
             "abcde"),
       "leave a gap after"},
      {image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
             "abc"),
       "overlap"},
  };
  for (const auto& [bytes, expected] : cases) {
    const std::string message = parse_error(bytes);
    EXPECT_NE(message.find("case.safetensors: "), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos)
        << "expected '" << expected << "' in: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(SafetensorsHeader, DeeplyNestedJunkIsAnErrorNotACrash) {
  // 200k levels: recursing once per level (as dump() does) would overflow the stack.
  const size_t depth = 200000;
  std::string nested = R"({"t":{"dtype":"U8","shape":[)" + std::string(depth, '[') +
                       std::string(depth, ']') + R"(],"data_offsets":[0,0]}})";
  EXPECT_NE(parse_error(image(nested)).find("shape entry must be a non-negative integer"),
            std::string::npos);
  EXPECT_NE(parse_error(image(std::string(depth, '[') + std::string(depth, ']')))
                .find("not a JSON object"),
            std::string::npos);
}

TEST(SafetensorsHeader, HeaderLengthLimit) {
  // A header length above the reference implementation's 100 MB limit is
  // refused before anything is parsed (here the file is big enough to hold it).
  std::string bytes(8 + 100'000'008, ' ');
  const uint64_t length = 100'000'008;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(length >> (8 * i));
  EXPECT_NE(parse_error(bytes).find("above the 100000000 byte limit"), std::string::npos);
}

}  // namespace
}  // namespace tc
