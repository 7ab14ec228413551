#include "apps/commands.h"

namespace tc::apps {

void register_generate(CLI::App& app) { (void)app; }

}  // namespace tc::apps
