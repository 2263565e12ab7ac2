// The FSx client against the FSx emulator over loopback: idempotent create by ClientRequestToken,
// AWS's error codes for bad input (model violations, Lustre rules), SigV4 rejection (wrong
// secret, unknown key, clock skew), lifecycles, pagination, associations, backups, tags, and the
// standard retry mode giving up at its limit under throttling.
#include "unit/aws/fsx_client_fixture.h"

#include <mutex>

namespace ckpt::aws {
namespace {

TEST_F(FsxClientTest, SameTokenTwiceMakesOneFileSystem) {
  auto a = client_->CreateFileSystem(Persistent2());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)["Lifecycle"], "CREATING");
  auto b = client_->CreateFileSystem(Persistent2());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*a)["FileSystemId"], (*b)["FileSystemId"]);
  EXPECT_EQ(emulator_->FileSystemCount(), 1u);
  auto other = client_->CreateFileSystem(Persistent2(4800));
  EXPECT_EQ(other.status().reason(), "IncompatibleParameterError");
  EXPECT_TRUE(other.status().IsConflict());
  EXPECT_EQ(emulator_->FileSystemCount(), 1u);
}

TEST_F(FsxClientTest, BadInputGetsAwsErrorCodes) {
  auto small = client_->CreateFileSystem(Persistent2(1000));
  EXPECT_EQ(small.status().reason(), "BadRequest");
  EXPECT_NE(small.status().message().find("1200 GiB, 2400 GiB, or a multiple of 2400 GiB"), std::string::npos);
  Json no_subnet = Persistent2();
  no_subnet.erase("SubnetIds");
  auto missing = client_->CreateFileSystem(no_subnet);
  EXPECT_EQ(missing.status().reason(), "BadRequest");
  EXPECT_NE(missing.status().message().find("1 validation error detected: Value null at 'subnetIds' failed "
                                            "to satisfy constraint: Member must not be null"),
            std::string::npos) << missing.status().message();
  Json no_capacity = Persistent2();
  no_capacity.erase("StorageCapacity");
  EXPECT_NE(client_->CreateFileSystem(no_capacity).status().message().find("StorageCapacity is required"), std::string::npos);
  Json throughput = Persistent2();
  throughput["LustreConfiguration"]["PerUnitStorageThroughput"] = 200;
  EXPECT_EQ(client_->CreateFileSystem(throughput).status().reason(), "InvalidPerUnitStorageThroughput");
  Json retention = Persistent2();
  retention["LustreConfiguration"]["AutomaticBackupRetentionDays"] = 91;
  EXPECT_NE(client_->CreateFileSystem(retention).status().message().find("Member must have value less than or equal to 90"),
            std::string::npos);
  Json efa = Persistent2();
  efa["LustreConfiguration"]["DeploymentType"] = "PERSISTENT_1";
  efa["LustreConfiguration"]["PerUnitStorageThroughput"] = 200;
  efa["LustreConfiguration"]["EfaEnabled"] = true;
  EXPECT_NE(client_->CreateFileSystem(efa).status().message().find("EFA"), std::string::npos);
  EXPECT_EQ(emulator_->FileSystemCount(), 0u);
}

TEST_F(FsxClientTest, SignaturesAreCheckedLikeAws) {
  StaticCredentials wrong({"AKIDEXAMPLE", "not-the-secret", "", std::nullopt});
  auto w = Client(wrong)->DescribeFileSystems({});
  EXPECT_EQ(w.status().reason(), "InvalidSignatureException");
  EXPECT_TRUE(w.status().IsUnauthenticated());
  StaticCredentials unknown({"AKIDUNKNOWN", "x", "", std::nullopt});
  EXPECT_EQ(Client(unknown)->DescribeFileSystems({}).status().reason(), "UnrecognizedClientException");
  FakeClock skewed(std::chrono::system_clock::now() + 10min);
  auto s = Client(good_, skewed)->DescribeFileSystems({});
  EXPECT_EQ(s.status().reason(), "InvalidSignatureException");
  EXPECT_NE(s.status().message().find("Signature expired"), std::string::npos);
  EXPECT_EQ(emulator_->CallCounts()["DescribeFileSystems"], 3) << "auth failures are not retried";
}

TEST_F(FsxClientTest, ThrottlingIsRetriedAndGivesUpAtTheLimit) {
  emulator_->SetFaults({.throttle_rate = 1.0});
  auto start = std::chrono::steady_clock::now();
  auto r = client_->DescribeFileSystems({});
  EXPECT_EQ(r.status().reason(), "ThrottlingException");
  EXPECT_TRUE(r.status().IsTooManyRequests());
  EXPECT_EQ(emulator_->CallCounts()["DescribeFileSystems"], 3) << "max_attempts = 3";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "full jitter under a 50 ms cap";
  // 30% throttling: with 8 attempts a call fails only if 8 attempts in a row are throttled (6.5e-5).
  emulator_->SetFaults({.throttle_rate = 0.3});
  auto patient = Client(good_, SystemClock(), 8);
  int before = emulator_->CallCounts()["DescribeFileSystems"];
  for (int i = 0; i < 30; ++i) {
    auto got = patient->DescribeFileSystems({});
    ASSERT_TRUE(got.ok()) << "call " << i << ": " << got.status().ToString() << " after "
                          << emulator_->CallCounts()["DescribeFileSystems"] << " attempts in all";
  }
  EXPECT_GT(emulator_->CallCounts()["DescribeFileSystems"] - before, 30) << "some calls needed retries";
  emulator_->SetFaults({.error_rate = 1.0});
  EXPECT_EQ(client_->DescribeFileSystems({}).status().reason(), "InternalServerError");
}

TEST_F(FsxClientTest, LifecyclesRunOnTheClockAndDescribePaginates) {
  std::string id = (*client_->CreateFileSystem(Persistent2()))["FileSystemId"];
  Json fs = WaitFor(id, "AVAILABLE");
  EXPECT_EQ(fs["DNSName"], id + ".fsx.us-east-1.amazonaws.com");
  EXPECT_EQ(fs["LustreConfiguration"]["MountName"].get<std::string>().size(), 8u);
  for (int i = 2; i <= 60; ++i) {
    Json r = Persistent2();
    r["ClientRequestToken"] = "uid-" + std::to_string(i);
    ASSERT_TRUE(client_->CreateFileSystem(r).ok());
  }
  auto all = client_->DescribeFileSystems({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 60u) << "two pages of 50 followed";
  auto gone = client_->DescribeFileSystems({"fs-00000000000000000"});
  EXPECT_EQ(gone.status().reason(), "FileSystemNotFound");
  EXPECT_TRUE(gone.status().IsNotFound());
}

TEST_F(FsxClientTest, UpdatesFollowTheLustreRules) {
  std::string id = (*client_->CreateFileSystem(Persistent2()))["FileSystemId"];
  EXPECT_EQ(client_->UpdateFileSystem({{"FileSystemId", id}, {"LustreConfiguration", {{"AutomaticBackupRetentionDays", 7}}}})
                .status().message().find("CREATING") != std::string::npos, true) << "not AVAILABLE yet";
  WaitFor(id, "AVAILABLE");
  auto u = client_->UpdateFileSystem({{"FileSystemId", id}, {"LustreConfiguration", {{"AutomaticBackupRetentionDays", 7}}}});
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ((*u)["LustreConfiguration"]["AutomaticBackupRetentionDays"], 7);
  EXPECT_EQ(client_->UpdateFileSystem({{"FileSystemId", id}, {"StorageCapacity", 1200}}).status().reason(), "BadRequest");
  auto grow = client_->UpdateFileSystem({{"FileSystemId", id}, {"StorageCapacity", 4800}});
  ASSERT_TRUE(grow.ok());
  EXPECT_EQ((*grow)["Lifecycle"], "UPDATING");
  EXPECT_EQ(WaitFor(id, "AVAILABLE")["StorageCapacity"], 4800);
}

TEST_F(FsxClientTest, AssociationsFollowTheirLimitsAndLifecycles) {
  std::string id = (*client_->CreateFileSystem(Persistent2()))["FileSystemId"];
  WaitFor(id, "AVAILABLE");
  auto dra = [&](const std::string& path, const std::string& prefix) {
    return client_->CreateDataRepositoryAssociation(
        {{"FileSystemId", id}, {"FileSystemPath", path}, {"DataRepositoryPath", "s3://bucket/" + prefix},
         {"ClientRequestToken", "dra-" + prefix},
         {"S3", {{"AutoImportPolicy", {{"Events", {"NEW", "CHANGED", "DELETED"}}}}}}});
  };
  for (auto p : {"data", "checkpoints", "logs", "results"}) ASSERT_TRUE(dra(std::string("/") + p, p).ok());
  EXPECT_TRUE(dra("/data", "data").ok()) << "a retried create with the same token is idempotent";
  EXPECT_NE(dra("/data/nested", "nested").status().message().find("overlaps"), std::string::npos);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(dra("/x" + std::to_string(i), "x" + std::to_string(i)).ok());
  EXPECT_EQ(dra("/ninth", "ninth").status().reason(), "ServiceLimitExceeded");
  Json filter = Json::array({{{"Name", "file-system-id"}, {"Values", {id}}}});
  auto list = client_->DescribeDataRepositoryAssociations(filter);
  ASSERT_EQ(list->size(), 8u);
  std::this_thread::sleep_for(300ms);
  auto settled = client_->DescribeDataRepositoryAssociations(filter);
  ASSERT_TRUE(settled.ok());
  for (const auto& a : *settled) EXPECT_EQ(a["Lifecycle"], "AVAILABLE");
  std::string dra_id = (*list)[0]["AssociationId"];
  ASSERT_TRUE(client_->DeleteDataRepositoryAssociation({{"AssociationId", dra_id}, {"DeleteDataInFileSystem", false}}).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(client_->DescribeDataRepositoryAssociations(filter)->size(), 7u);
  EXPECT_EQ(client_->DeleteDataRepositoryAssociation({{"AssociationId", dra_id}}).status().reason(),
            "DataRepositoryAssociationNotFound");
}

TEST_F(FsxClientTest, DeleteWithFinalBackupAndTags) {
  auto fs = *client_->CreateFileSystem(Persistent2());
  std::string id = fs["FileSystemId"];
  WaitFor(id, "AVAILABLE");
  ASSERT_TRUE(client_->TagResource(fs["ResourceARN"], Json::array({{{"Key", "team"}, {"Value", "ml"}}})).ok());
  EXPECT_EQ(client_->ListTagsForResource(fs["ResourceARN"])->size(), 2u);
  auto del = client_->DeleteFileSystem({{"FileSystemId", id}, {"ClientRequestToken", "del-1"},
                                        {"LustreConfiguration", {{"SkipFinalBackup", false}}}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ((*del)["Lifecycle"], "DELETING");
  std::string backup = (*del)["LustreResponse"]["FinalBackupId"];
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(client_->DescribeFileSystems({id}).status().IsNotFound());
  auto backups = client_->DescribeBackups({{"BackupIds", {backup}}});
  ASSERT_EQ(backups->size(), 1u);
  EXPECT_EQ((*backups)[0]["FileSystemId"], id);
}

TEST_F(FsxClientTest, EveryAttemptIsReportedWithItsOutcome) {
  std::vector<std::string> seen;
  std::mutex mu;
  JsonRpcOptions o;
  o.endpoint = emulator_->url();
  o.region = "us-east-1";
  o.credentials = &good_;
  o.retry = {.max_attempts = 3, .max_backoff = 10ms, .seed = 1};
  o.on_attempt = [&](std::string_view op, std::string_view code) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(std::string(op) + ":" + std::string(code));
  };
  auto client = NewFsxClient(o);
  ASSERT_TRUE(client->DescribeFileSystems({}).ok());
  emulator_->SetFaults({.throttle_rate = 1.0});
  (void)client->DescribeFileSystems({});
  EXPECT_EQ(seen, (std::vector<std::string>{"DescribeFileSystems:OK", "DescribeFileSystems:ThrottlingException",
                                            "DescribeFileSystems:ThrottlingException",
                                            "DescribeFileSystems:ThrottlingException"}));
}

TEST_F(FsxClientTest, StuckLifecycleFaultHoldsResources) {
  emulator_->SetFaults({.stuck_lifecycle = true});
  std::string id = (*client_->CreateFileSystem(Persistent2()))["FileSystemId"];
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ((*client_->DescribeFileSystems({id}))[0]["Lifecycle"], "CREATING");
  emulator_->SetFaults({});
  WaitFor(id, "AVAILABLE");
}

}  // namespace
}  // namespace ckpt::aws
