// Unit tests for REST path building of core, custom, namespaced and cluster-scoped resources.
#include "ckpt/kube/resource.h"

#include <gtest/gtest.h>

namespace ckpt::kube {
namespace {

TEST(ResourceTest, CorePathsLiveUnderApiV1) {
  EXPECT_EQ(resources::PersistentVolumeClaims().ObjectPath("ml", "ckpt"),
            "/api/v1/namespaces/ml/persistentvolumeclaims/ckpt");
  EXPECT_EQ(resources::PersistentVolumes().ObjectPath("ignored", "pv1"), "/api/v1/persistentvolumes/pv1");
  EXPECT_EQ(resources::PersistentVolumes().ApiVersion(), "v1");
}

TEST(ResourceTest, CustomPathsLiveUnderApisGroupVersion) {
  const Resource& r = resources::CheckpointStores();
  EXPECT_EQ(r.ApiVersion(), "trainops.io/v1alpha1");
  EXPECT_EQ(r.CollectionPath(""), "/apis/trainops.io/v1alpha1/checkpointstores");
  EXPECT_EQ(r.ObjectPath("ml", "s", "status"), "/apis/trainops.io/v1alpha1/namespaces/ml/checkpointstores/s/status");
  EXPECT_EQ(resources::ClusterTrainingRuntimes().ObjectPath("ml", "torch"),
            "/apis/trainer.kubeflow.org/v1alpha1/clustertrainingruntimes/torch");
}

}  // namespace
}  // namespace ckpt::kube
