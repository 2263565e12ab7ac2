// REST paths for Resource and the table of resources ckpt-operator reads and writes.
#include "ckpt/kube/resource.h"

namespace ckpt::kube {

std::string Resource::ApiVersion() const { return group.empty() ? version : group + "/" + version; }

std::string Resource::CollectionPath(std::string_view ns) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += ns;
  }
  p += "/";
  p += plural;
  return p;
}

std::string Resource::ObjectPath(std::string_view ns, std::string_view name, std::string_view subresource) const {
  std::string p = CollectionPath(ns);
  p += "/";
  p += name;
  if (!subresource.empty()) {
    p += "/";
    p += subresource;
  }
  return p;
}

namespace resources {
#define CKPT_RESOURCE(fn, group, version, plural, kind, namespaced)       \
  const Resource& fn() {                                                   \
    static const Resource r{group, version, plural, kind, namespaced};     \
    return r;                                                              \
  }
CKPT_RESOURCE(Namespaces, "", "v1", "namespaces", "Namespace", false)
CKPT_RESOURCE(PersistentVolumes, "", "v1", "persistentvolumes", "PersistentVolume", false)
CKPT_RESOURCE(PersistentVolumeClaims, "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true)
CKPT_RESOURCE(Events, "events.k8s.io", "v1", "events", "Event", true)
CKPT_RESOURCE(Leases, "coordination.k8s.io", "v1", "leases", "Lease", true)
CKPT_RESOURCE(CustomResourceDefinitions, "apiextensions.k8s.io", "v1", "customresourcedefinitions",
              "CustomResourceDefinition", false)
CKPT_RESOURCE(CheckpointStores, "trainops.io", "v1alpha1", "checkpointstores", "CheckpointStore", true)
CKPT_RESOURCE(TrainRuns, "trainops.io", "v1alpha1", "trainruns", "TrainRun", true)
CKPT_RESOURCE(TrainJobs, "trainer.kubeflow.org", "v1alpha1", "trainjobs", "TrainJob", true)
CKPT_RESOURCE(TrainingRuntimes, "trainer.kubeflow.org", "v1alpha1", "trainingruntimes", "TrainingRuntime", true)
CKPT_RESOURCE(ClusterTrainingRuntimes, "trainer.kubeflow.org", "v1alpha1", "clustertrainingruntimes",
              "ClusterTrainingRuntime", false)
CKPT_RESOURCE(Pods, "", "v1", "pods", "Pod", true)
CKPT_RESOURCE(JobSets, "jobset.x-k8s.io", "v1alpha2", "jobsets", "JobSet", true)
#undef CKPT_RESOURCE
}  // namespace resources

}  // namespace ckpt::kube
