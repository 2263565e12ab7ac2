// TrainRun planning (see trainrun_plan.h).
#include "controllers/trainrun_plan.h"

#include <algorithm>

#include "ckpt/common/encoding.h"
#include "ckpt/controllers/trainrun.h"

namespace ckpt::controllers {
namespace {

Json OwnerRef(const Json& trainrun) {
  return Json::array({{{"apiVersion", "trainops.io/v1alpha1"}, {"kind", "TrainRun"},
                       {"name", trainrun["metadata"].value("name", "")}, {"uid", trainrun["metadata"].value("uid", "")},
                       {"controller", true}, {"blockOwnerDeletion", true}}});
}

// Replaces the entry with the same "name" in `list`, or appends `item`.
void Upsert(Json& list, const Json& item) {
  if (!list.is_array()) list = Json::array();
  for (auto& e : list)
    if (e.value("name", "") == item.value("name", "")) {
      e = item;
      return;
    }
  list.push_back(item);
}

// Adds the store's file system (mounted at its root), /dev/shm, CHECKPOINT_DIR and DATA_DIR,
// placement and the trainer pod's identity to one pod template spec.
void Customize(Json& pod, const Json& trainrun, const std::string& claim, const CheckpointLayout& layout) {
  const Json& spec = trainrun["spec"];
  Upsert(pod["volumes"], {{"name", kStoreVolume}, {"persistentVolumeClaim", {{"claimName", claim}}}});
  bool shm = spec.contains("sharedMemory");
  if (shm) Upsert(pod["volumes"], {{"name", "dshm"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", spec["sharedMemory"]}}}});
  for (auto& c : pod["containers"]) {
    if (c.value("name", "") != kTrainerContainer) continue;
    Upsert(c["volumeMounts"], {{"name", kStoreVolume}, {"mountPath", layout.mount_path}});
    if (shm) Upsert(c["volumeMounts"], {{"name", "dshm"}, {"mountPath", "/dev/shm"}});
    Upsert(c["env"], {{"name", "CHECKPOINT_DIR"}, {"value", layout.checkpoint_dir}});
    if (!layout.data_dir.empty()) Upsert(c["env"], {{"name", "DATA_DIR"}, {"value", layout.data_dir}});
  }
  const Json placement = spec.value("placement", Json::object());
  const Json selector = placement.value("nodeSelector", Json::object());  // items() must not outlive it
  for (const auto& [k, v] : selector.items()) pod["nodeSelector"][k] = v;
  if (placement.contains("zone")) pod["nodeSelector"]["topology.kubernetes.io/zone"] = placement["zone"];
  for (const auto& t : placement.value("tolerations", Json::array())) {
    if (!pod["tolerations"].is_array()) pod["tolerations"] = Json::array();
    if (std::find(pod["tolerations"].begin(), pod["tolerations"].end(), t) == pod["tolerations"].end())
      pod["tolerations"].push_back(t);
  }
  if (placement.contains("affinity")) pod["affinity"] = placement["affinity"];
  if (placement.contains("priorityClassName")) pod["priorityClassName"] = placement["priorityClassName"];
  if (spec["trainer"].contains("serviceAccountName")) pod["serviceAccountName"] = spec["trainer"]["serviceAccountName"];
}

// The trainer pods' labels and annotations: the user's, then the run label the operator's pod
// cache selects on (it wins over a user label of the same key).
void LabelPods(Json& pod_template, const Json& trainrun) {
  const Json& t = trainrun["spec"]["trainer"];
  Json& md = pod_template["metadata"];
  for (const auto& [field, into] : {std::pair{"podLabels", "labels"}, std::pair{"podAnnotations", "annotations"}}) {
    const Json extra = t.value(field, Json::object());
    for (const auto& [k, v] : extra.items()) md[into][k] = v;
  }
  md["labels"][kTrainRunLabel] = trainrun["metadata"].value("name", "");
}

}  // namespace

bool IsTrainerJob(const Json& rj) {
  return rj.value("/template/metadata/labels"_json_pointer, Json::object()).value(kAncestorLabel, "") == "trainer" ||
         rj.value("name", "") == kTrainerContainer;
}

std::string DerivedRuntimeName(const Json& trainrun) {
  std::string name = trainrun["metadata"].value("name", "") + "-runtime";
  if (name.size() <= 63) return name;
  return name.substr(0, 50) + "-" + HexEncode(Sha256(name)).substr(0, 12);
}

Json DeriveTrainingRuntime(const Json& source, const Json& trainrun, const std::string& claim,
                           const CheckpointLayout& layout) {
  Json spec = source.value("spec", Json::object());
  Json& jobset = spec["template"]["spec"];
  jobset["failurePolicy"]["maxRestarts"] = trainrun.value("/spec/resilience/maxRestarts"_json_pointer, 0);
  for (auto& rj : jobset["replicatedJobs"]) {
    if (!IsTrainerJob(rj)) continue;
    Json& job = rj["template"]["spec"];
    // Pod failures the trainer Job absorbs by replacing the pod before it fails (and JobSet
    // restarts the whole gang). 0 by default: one lost rank stalls every other rank of a static
    // torchrun rendezvous until the NCCL timeout, so a prompt gang restart from the last
    // checkpoint beats Kubernetes' default of 6 pod retries with 10 s..6 min backoff.
    job["backoffLimit"] = trainrun.value("/spec/resilience/podRetries"_json_pointer, 0);
    Customize(job["template"]["spec"], trainrun, claim, layout);
    LabelPods(job["template"], trainrun);
  }
  Json labels = source.value("/metadata/labels"_json_pointer, Json::object());
  labels[kTrainRunLabel] = trainrun["metadata"].value("name", "");
  return {{"apiVersion", "trainer.kubeflow.org/v1alpha1"}, {"kind", "TrainingRuntime"},
          {"metadata", {{"name", DerivedRuntimeName(trainrun)}, {"namespace", trainrun["metadata"].value("namespace", "")},
                        {"labels", labels}, {"ownerReferences", OwnerRef(trainrun)},
                        {"annotations", {{"trainops.io/derived-from", source.value("kind", "") + "/" +
                                                                              source["metadata"].value("name", "")}}}}},
          {"spec", spec}};
}

Json BuildTrainJob(const Json& trainrun) {
  const Json& t = trainrun["spec"]["trainer"];
  Json trainer = {{"image", t["image"]}};
  for (const char* k : {"command", "args", "env", "numNodes", "numProcPerNode", "resourcesPerNode"})
    if (t.contains(k)) trainer[k] = t[k];
  // "auto" is what both Trainer versions do when numProcPerNode is absent (v2.1 also takes the
  // string; v2.3's field is an integer), so it is passed by leaving the field out.
  if (trainer.value("numProcPerNode", Json()) == "auto") trainer.erase("numProcPerNode");
  return {{"apiVersion", "trainer.kubeflow.org/v1alpha1"}, {"kind", "TrainJob"},
          {"metadata", {{"name", trainrun["metadata"].value("name", "")}, {"namespace", trainrun["metadata"].value("namespace", "")},
                        {"labels", {{kTrainRunLabel, trainrun["metadata"].value("name", "")}}},
                        {"ownerReferences", OwnerRef(trainrun)}}},
          {"spec", {{"runtimeRef", {{"apiGroup", "trainer.kubeflow.org"}, {"kind", "TrainingRuntime"},
                                    {"name", DerivedRuntimeName(trainrun)}}},
                    {"trainer", trainer}}}};
}

bool RuntimeNotYetSeenByWebhook(const Status& create_error) {
  return (create_error.IsForbidden() || create_error.IsInvalid()) &&
         create_error.message().find("must be created before the TrainJob is created") != std::string::npos;
}

}  // namespace ckpt::controllers
