// What a measurement ran on and was built with: CPU, memory, OS, compiler,
// library versions, GPU, git revision. Stored with every result so numbers
// from different machines or builds are never compared unknowingly.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tc::profile {

// A fresh snapshot (reads /proc, /sys, /etc/os-release; runs nvidia-smi when it
// exists). Never throws for a missing source: every field in
// hardware_snapshot_fields() is present, null or "unknown" when not available,
// so the result schema is the same on every machine.
//
// Top-level keys: schema, timestamp_utc, hostname, cpu{...}, memory{...},
// os{...}, build{...}, libraries{<name>: {compiled, runtime}}, gpu{...}.
nlohmann::json hardware_snapshot();

// JSON pointers ("/cpu/model_name", ...) of every leaf of the snapshot, grouped
// by section in reading order: the schema. Arrays (/build/baseline_isa_macros,
// /gpu/devices) count as one leaf. For tests, the results audit and listings.
const std::vector<std::string>& hardware_snapshot_fields();

// The ISA flags reported under /cpu/isa_flags (x86 names as in /proc/cpuinfo).
const std::vector<std::string>& tracked_isa_flags();

}  // namespace tc::profile
