#include "golden_reader.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace tc::test {

std::vector<float> as_floats(const io::TensorInfo& info) {
  if (info.dtype != DType::kF32) throw std::runtime_error(info.name + ": expected F32");
  std::vector<float> out(static_cast<size_t>(info.numel()));
  std::memcpy(out.data(), info.data, info.nbytes);
  return out;
}

std::vector<int32_t> as_ids(const io::TensorInfo& info) {
  std::vector<int32_t> out(static_cast<size_t>(info.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (info.dtype == DType::kI64) {
      int64_t value;
      std::memcpy(&value, info.data + i * 8, 8);
      out[i] = static_cast<int32_t>(value);
    } else if (info.dtype == DType::kI32) {
      std::memcpy(&out[i], info.data + i * 4, 4);
    } else {
      throw std::runtime_error(info.name + ": expected an integer tensor");
    }
  }
  return out;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(file);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(double(a[i]) - double(b[i]));
    if (!(diff <= worst)) worst = diff;  // NaN propagates as a failure
  }
  return worst;
}

}  // namespace tc::test
