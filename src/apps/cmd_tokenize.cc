#include "apps/commands.h"

namespace tc::apps {

void register_tokenize(CLI::App& app) { (void)app; }

}  // namespace tc::apps
