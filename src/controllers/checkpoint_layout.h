// Where a TrainRun's checkpoints live and whether they reach S3. The store's whole file system is
// mounted at one root in the trainer pods (spec.checkpoints.mountPath, default /fsx), so each data
// repository association appears at its own path (/fsx/data, /fsx/checkpoints). The run
// checkpoints under the store's checkpoint association (the one marked checkpoints: true, else
// the one at /checkpoints) in runs/<run>, unless spec.checkpoints.subPath says otherwise; the S3
// URI and the CheckpointsExported verdict come from the association that covers that directory
// and its export events. DATA_DIR is the data association (/data, else the first import-only
// one). Pure: reads the TrainRun and the store's spec, no I/O.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ckpt::controllers {

using Json = nlohmann::json;

inline constexpr char kDefaultMountPath[] = "/fsx";

struct CheckpointLayout {
  std::string mount_path;      // the file system's root in the trainer container, e.g. /fsx
  std::string checkpoint_dir;  // CHECKPOINT_DIR, e.g. /fsx/checkpoints/runs/llama
  std::string data_dir;        // DATA_DIR, e.g. /fsx/data; empty without a data association
  std::string checkpoint_uri;  // where automatic export writes the checkpoints; empty if nowhere
  bool exported = false;       // the CheckpointsExported condition, with its reason and message
  std::string reason, message;
};

CheckpointLayout PlanCheckpointLayout(const Json& trainrun, const Json& store);

// The store's checkpoint association among spec.dataRepository.associations: the one marked
// checkpoints: true, else the one at /checkpoints; nullptr when there is neither.
const Json* CheckpointAssociation(const Json& associations);

}  // namespace ckpt::controllers
