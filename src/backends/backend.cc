#include "backends/backend.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tc::backends {

const Backend& backend_from_environment() {
  const char* requested = std::getenv("TC_BACKEND");
  if (requested == nullptr || *requested == '\0') return cpu_backend();
  const std::string name = requested;
  if (name == cpu_backend().name()) return cpu_backend();
  if (name == reference_backend().name()) return reference_backend();
  fail("TC_BACKEND={}: unknown backend (cpu or reference)", name);
}

}  // namespace tc::backends
