// The FSx for Lustre rules the service enforces beyond the model's shapes, as the emulator
// applies them: storage capacity steps and throughput values per deployment type, what SCRATCH
// file systems may not have, EFA only on PERSISTENT_2, data repository association limits and
// path rules. Each check returns an error Status whose reason() is the FSx error code.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ckpt/common/status.h"

namespace ckpt::emulator {

using Json = nlohmann::json;

Status FsxError(std::string code, std::string message);

// CreateFileSystem request (already model-valid).
Status CheckCreateLustre(const Json& request);
// UpdateFileSystem against the current description.
Status CheckUpdateLustre(const Json& current, const Json& request);
// CreateDataRepositoryAssociation against the file system and its current associations.
Status CheckCreateAssociation(const Json& file_system, const std::vector<Json>& existing, const Json& request);

}  // namespace ckpt::emulator
