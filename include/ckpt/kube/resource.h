// Resource: names one Kubernetes API resource (group, version, plural) and builds its REST paths.
// Core resources have an empty group and live under /api/v1; everything else under
// /apis/<group>/<version>. Well-known resources the operator uses are declared here once.
#pragma once

#include <string>
#include <string_view>

namespace ckpt::kube {

struct Resource {
  std::string group;    // "" for core
  std::string version;  // "v1"
  std::string plural;   // "persistentvolumeclaims"
  std::string kind;     // "PersistentVolumeClaim"
  bool namespaced = true;

  // "v1" for core, "<group>/<version>" otherwise.
  std::string ApiVersion() const;
  // Path of the collection; `ns` is ignored for cluster-scoped resources and "" means all namespaces.
  std::string CollectionPath(std::string_view ns) const;
  // Path of one object, optionally a subresource ("status").
  std::string ObjectPath(std::string_view ns, std::string_view name, std::string_view subresource = "") const;
};

namespace resources {
const Resource& Namespaces();
const Resource& PersistentVolumes();
const Resource& PersistentVolumeClaims();
const Resource& Events();
const Resource& Leases();
const Resource& CustomResourceDefinitions();
const Resource& CheckpointStores();
const Resource& TrainRuns();
const Resource& TrainJobs();
const Resource& TrainingRuntimes();
const Resource& ClusterTrainingRuntimes();
const Resource& JobSets();
const Resource& Pods();
}  // namespace resources

}  // namespace ckpt::kube
