// SHA-256 (FIPS 180-4) through OpenSSL libcrypto's EVP interface. Results and
// the audit name every file and text slice they used by its hash, so a
// number can be traced to the exact bytes that produced it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tc {

// Incremental hashing, for data that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;

  void update(std::span<const uint8_t> bytes);
  void update(std::string_view text);
  // Lowercase hex digest (64 characters) of everything passed to update() so
  // far. Does not end the hash: more update() calls may follow.
  std::string hex_digest() const;

  struct Context;

 private:
  std::unique_ptr<Context> context_;
};

// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::span<const uint8_t> bytes);
std::string sha256_hex(std::string_view text);

}  // namespace tc
