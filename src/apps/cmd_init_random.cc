#include "apps/commands.h"

namespace tc::apps {

void register_init_random(CLI::App& app) { (void)app; }

}  // namespace tc::apps
