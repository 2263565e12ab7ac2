// Foundation integration test on a real etcd + kube-apiserver + kube-controller-manager with our
// CRDs and the upstream Trainer/JobSet CRDs installed: custom-resource CRUD with the status
// subresource and a watch; TrainJobs accepted and rejected by the upstream schema; and the
// controller manager's PV binder, garbage collector and namespace controller doing real work.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "integration/envtest.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

using kube::Json;
namespace res = kube::resources;
using namespace std::chrono_literals;

using testing::Eventually;

// A store with the backup settings the CRD validates.
Json Store(const std::string& name) {
  Json s = testing::CheckpointStoreObject("default", name);
  s["spec"]["fileSystem"].erase("tags");
  s["spec"]["fileSystem"]["backups"] = {{"automaticRetentionDays", 30}, {"dailyStartTime", "03:00"}};
  return s;
}

Json TrainJob(const std::string& name) {
  return Json::parse(R"({
    "apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob",
    "metadata": {"name": ")" + name + R"(", "namespace": "default"},
    "spec": {"runtimeRef": {"name": "torch-distributed"},
             "trainer": {"image": "pytorch/pytorch:2.5.0", "numNodes": 2,
                         "command": ["torchrun", "train.py"]}}})");
}

class ApiServerSmokeTest : public ::testing::Test {
 protected:
  kube::KubeClientPtr client_ = testing::Envtest().NewClient();
};

TEST_F(ApiServerSmokeTest, CustomResourceCreateReadStatusWatchDelete) {
  auto created = client_->Create(res::CheckpointStores(), "default", Store("crud"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["spec"]["deletionPolicy"], "Retain") << "CRD default applied";
  std::string rv = (*created)["metadata"]["resourceVersion"];

  std::vector<std::string> seen;
  std::thread watcher([&] {
    kube::WatchOptions opts;
    opts.resource_version = rv;
    opts.field_selector = "metadata.name=crud";
    opts.timeout_seconds = 30;
    Status s = client_->Watch(res::CheckpointStores(), "default", opts, [&](kube::WatchEvent&& e) {
      if (e.type == kube::WatchEvent::Type::kBookmark) return true;
      seen.push_back(e.type == kube::WatchEvent::Type::kModified  ? "MODIFIED:" + e.object["status"].value("phase", "")
                     : e.type == kube::WatchEvent::Type::kDeleted ? "DELETED"
                                                                   : "OTHER");
      return e.type != kube::WatchEvent::Type::kDeleted;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });

  auto got = client_->Get(res::CheckpointStores(), "default", "crud");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  (*got)["status"] = {{"phase", "Creating"}, {"fileSystemId", "fs-0123456789abcdef0"}};
  (*got)["spec"]["deletionPolicy"] = "Delete";  // ignored by the status subresource
  auto updated = client_->Update(res::CheckpointStores(), *got, "status");
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)["status"]["phase"], "Creating");
  EXPECT_EQ((*updated)["spec"]["deletionPolicy"], "Retain");
  EXPECT_EQ((*updated)["metadata"]["generation"], 1) << "status writes do not bump generation";

  auto stale = client_->Update(res::CheckpointStores(), *got, "status");  // old resourceVersion
  EXPECT_TRUE(stale.status().IsConflict()) << stale.status().ToString();

  ASSERT_TRUE(client_->Delete(res::CheckpointStores(), "default", "crud").ok());
  watcher.join();
  EXPECT_EQ(seen, (std::vector<std::string>{"MODIFIED:Creating", "DELETED"}));
  EXPECT_TRUE(client_->Get(res::CheckpointStores(), "default", "crud").status().IsNotFound());
  EXPECT_TRUE(client_->Delete(res::CheckpointStores(), "default", "crud").IsNotFound());
}

TEST_F(ApiServerSmokeTest, DiscoveryListsOurResourcesAndDeletePreconditionsAreEnforced) {
  auto group = client_->Discover("trainops.io/v1alpha1");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  std::set<std::string> names;
  for (const auto& r : (*group)["resources"]) names.insert(r["name"]);
  EXPECT_TRUE(names.count("checkpointstores") && names.count("checkpointstores/status") && names.count("trainruns"));
  EXPECT_TRUE(client_->Discover("v1").ok());

  ASSERT_TRUE(client_->Create(res::CheckpointStores(), "default", Store("guarded")).ok());
  kube::DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "not-the-uid";
  EXPECT_TRUE(client_->Delete(res::CheckpointStores(), "default", "guarded", wrong_uid).IsConflict());
  kube::DeleteOptions foreground;
  foreground.propagation_policy = "Foreground";
  EXPECT_TRUE(client_->Delete(res::CheckpointStores(), "default", "guarded", foreground).ok());
}

TEST_F(ApiServerSmokeTest, OurCrdRejectsOutOfRangeRetention) {
  Json bad = Store("bad-retention");
  bad["spec"]["fileSystem"]["backups"]["automaticRetentionDays"] = 91;
  auto r = client_->Create(res::CheckpointStores(), "default", bad);
  ASSERT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("spec.fileSystem.backups.automaticRetentionDays: Invalid value: 91: "
                                      "spec.fileSystem.backups.automaticRetentionDays in body should be less "
                                      "than or equal to 90"),
            std::string::npos)
      << r.status().message();
}

TEST_F(ApiServerSmokeTest, UpstreamTrainJobSchemaAcceptsAWellFormedJob) {
  auto r = client_->Create(res::TrainJobs(), "default", TrainJob("accepted"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["spec"]["managedBy"], "trainer.kubeflow.org/trainjob-controller") << "upstream default applied";
  EXPECT_EQ((*r)["spec"]["runtimeRef"]["kind"], "ClusterTrainingRuntime");
  EXPECT_TRUE(client_->Delete(res::TrainJobs(), "default", "accepted").ok());
}

TEST_F(ApiServerSmokeTest, UpstreamTrainJobSchemaRejectsBadJobsWithItsMessages) {
  Json foreign = TrainJob("foreign");
  foreign["spec"]["managedBy"] = "example.com/other-controller";
  auto r = client_->Create(res::TrainJobs(), "default", foreign);
  ASSERT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("ManagedBy must be trainer.kubeflow.org/trainjob-controller or "
                                      "kueue.x-k8s.io/multikueue if set"),
            std::string::npos)
      << r.status().message();

  Json no_runtime = TrainJob("no-runtime");
  no_runtime["spec"].erase("runtimeRef");
  auto r2 = client_->Create(res::TrainJobs(), "default", no_runtime);
  ASSERT_TRUE(r2.status().IsInvalid()) << r2.status().ToString();
  EXPECT_NE(r2.status().message().find("spec.runtimeRef: Required value"), std::string::npos) << r2.status().message();
}

TEST_F(ApiServerSmokeTest, ControllerManagerBindsStaticPvAndPvc) {
  Json pv = Json::parse(R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"smoke-pv"},
    "spec":{"capacity":{"storage":"1200Gi"},"accessModes":["ReadWriteMany"],"persistentVolumeReclaimPolicy":"Retain",
      "storageClassName":"","csi":{"driver":"fsx.csi.aws.com","volumeHandle":"fs-0123456789abcdef0",
      "volumeAttributes":{"dnsname":"fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com","mountname":"abcdefgh"}},
      "claimRef":{"namespace":"default","name":"smoke-pvc"}}})");
  Json pvc = Json::parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"smoke-pvc","namespace":"default"},
    "spec":{"accessModes":["ReadWriteMany"],"storageClassName":"","volumeName":"smoke-pv",
      "resources":{"requests":{"storage":"1200Gi"}}}})");
  ASSERT_TRUE(client_->Create(res::PersistentVolumes(), "", pv).ok());
  ASSERT_TRUE(client_->Create(res::PersistentVolumeClaims(), "default", pvc).ok());
  EXPECT_TRUE(Eventually([&] {
    auto c = client_->Get(res::PersistentVolumeClaims(), "default", "smoke-pvc");
    return c.ok() && (*c)["status"].value("phase", "") == "Bound";
  })) << "the real PV binder binds a pre-bound static PV/PVC pair";
}

TEST_F(ApiServerSmokeTest, GarbageCollectorFollowsOwnerReferences) {
  auto owner = client_->Create(res::CheckpointStores(), "default", Store("owner"));
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  Json pvc = Json::parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"owned","namespace":"default"},
    "spec":{"accessModes":["ReadWriteMany"],"storageClassName":"","resources":{"requests":{"storage":"1Gi"}}}})");
  pvc["metadata"]["ownerReferences"] = Json::array({{{"apiVersion", "trainops.io/v1alpha1"},
                                                     {"kind", "CheckpointStore"},
                                                     {"name", "owner"},
                                                     {"uid", (*owner)["metadata"]["uid"]}}});
  ASSERT_TRUE(client_->Create(res::PersistentVolumeClaims(), "default", pvc).ok());
  ASSERT_TRUE(client_->Delete(res::CheckpointStores(), "default", "owner").ok());
  EXPECT_TRUE(Eventually([&] {
    auto c = client_->Get(res::PersistentVolumeClaims(), "default", "owned");
    return c.status().IsNotFound() || (c.ok() && c->contains("/metadata/deletionTimestamp"_json_pointer));
  })) << "the real garbage collector deletes the owned PVC";
}

TEST_F(ApiServerSmokeTest, NamespaceDeletionRemovesItsObjects) {
  ASSERT_TRUE(client_->Create(res::Namespaces(), "", Json{{"metadata", {{"name", "doomed"}}}}).ok());
  Json s = Store("in-doomed");
  s["metadata"]["namespace"] = "doomed";
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), "doomed", s).ok());
  ASSERT_TRUE(client_->Delete(res::Namespaces(), "", "doomed").ok());
  EXPECT_TRUE(Eventually([&] { return client_->Get(res::Namespaces(), "", "doomed").status().IsNotFound(); }, 60s))
      << "the real namespace controller empties and removes the namespace";
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
