#include "core/sha256.h"

#include <openssl/evp.h>

#include <utility>

#include "core/error.h"

namespace tc {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
  ~Context() { EVP_MD_CTX_free(md); }
};

namespace {

// Failures here mean libcrypto itself is broken (no memory, no SHA-256 in the
// loaded provider), not bad input, so the message says so.
[[noreturn]] void fail_openssl(const char* what) {
  fail("sha256: OpenSSL {} failed (is libcrypto's default provider available?)", what);
}

}  // namespace

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->md = EVP_MD_CTX_new();
  if (context_->md == nullptr) fail_openssl("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr) != 1) {
    fail_openssl("EVP_DigestInit_ex");
  }
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&& other) noexcept = default;
Sha256& Sha256::operator=(Sha256&& other) noexcept = default;

void Sha256::update(std::span<const uint8_t> bytes) {
  if (context_ == nullptr) fail("sha256: update() on a moved-from Sha256");
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(context_->md, bytes.data(), bytes.size()) != 1) {
    fail_openssl("EVP_DigestUpdate");
  }
}

void Sha256::update(std::string_view text) {
  update(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string Sha256::hex_digest() const {
  if (context_ == nullptr) fail("sha256: hex_digest() on a moved-from Sha256");
  // Finalize a copy, so the running hash can keep taking updates.
  Context copy;
  copy.md = EVP_MD_CTX_new();
  if (copy.md == nullptr) fail_openssl("EVP_MD_CTX_new");
  if (EVP_MD_CTX_copy_ex(copy.md, context_->md) != 1) fail_openssl("EVP_MD_CTX_copy_ex");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(copy.md, digest, &length) != 1) fail_openssl("EVP_DigestFinal_ex");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * static_cast<size_t>(length), '\0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string sha256_hex(std::span<const uint8_t> bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.hex_digest();
}

std::string sha256_hex(std::string_view text) {
  Sha256 hash;
  hash.update(text);
  return hash.hex_digest();
}

}  // namespace tc
