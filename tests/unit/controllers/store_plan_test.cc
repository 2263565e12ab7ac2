// Table-driven tests of the CheckpointStore controller's pure planning: the FSx create request,
// restore request, update deltas (one change at a time, capacity first), association diffs and
// their Event text, the final export's paths and request, PV/PVC shapes, and condition transitions.
#include "controllers/store_plan.h"

#include <gtest/gtest.h>

#include <functional>

namespace ckpt::controllers {
namespace {

Json Store() {
  return Json::parse(R"({"metadata": {"name": "llm", "namespace": "ml", "uid": "u-1"},
    "spec": {"fileSystem": {"deploymentType": "PERSISTENT_2", "storageCapacityGiB": 2400, "perUnitStorageThroughput": 250,
                            "subnetId": "subnet-1", "efaEnabled": true, "dataCompressionType": "LZ4",
                            "backups": {"automaticRetentionDays": 30, "dailyStartTime": "03:00"}, "tags": {"team": "ml"}},
             "dataRepository": {"bucket": "s3://bkt/", "associations": [
               {"path": "/data", "prefix": "data/", "import": ["NEW", "CHANGED"]},
               {"path": "/ckpt", "prefix": "ckpt/", "export": ["NEW"]}]},
             "volume": {"claimName": "llm-ckpt", "mountOptions": ["flock"]}}})");
}

Json Fs() {
  return Json::parse(R"({"FileSystemId": "fs-1", "StorageCapacity": 2400, "DNSName": "fs-1.fsx", "Lifecycle": "AVAILABLE",
    "LustreConfiguration": {"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250, "MountName": "abcd",
                            "AutomaticBackupRetentionDays": 30, "DailyAutomaticBackupStartTime": "03:00",
                            "DataCompressionType": "LZ4"}})");
}

TEST(StorePlanTest, CreateRequestCarriesSpecAndOwnerTag) {
  Json r = CreateFileSystemRequest(Store());
  EXPECT_EQ(r["FileSystemType"], "LUSTRE");
  EXPECT_EQ(r["StorageCapacity"], 2400);
  EXPECT_EQ(r["SubnetIds"], Json::array({"subnet-1"}));
  EXPECT_EQ(r["LustreConfiguration"]["EfaEnabled"], true);
  EXPECT_EQ(r["LustreConfiguration"]["AutomaticBackupRetentionDays"], 30);
  EXPECT_EQ(r["Tags"][0], Json({{"Key", kOwnerTag}, {"Value", "u-1"}}));
  EXPECT_EQ(r["Tags"][2], Json({{"Key", "team"}, {"Value", "ml"}}));
}

TEST(StorePlanTest, RestoreRequestLeavesTheShapeToTheBackup) {
  Json store = Store();
  store["spec"]["fileSystem"]["fromBackup"] = "backup-0123456789abcdef0";
  Json r = CreateFromBackupRequest(store);
  EXPECT_EQ(r["BackupId"], "backup-0123456789abcdef0");
  EXPECT_FALSE(r.contains("StorageCapacity"));
  EXPECT_FALSE(r.contains("FileSystemType"));
  EXPECT_FALSE(r["LustreConfiguration"].contains("DeploymentType"));
  EXPECT_FALSE(r["LustreConfiguration"].contains("PerUnitStorageThroughput"));
  EXPECT_EQ(r["LustreConfiguration"]["DataCompressionType"], "LZ4");
  EXPECT_EQ(r["SubnetIds"], Json::array({"subnet-1"}));
  EXPECT_EQ(r["Tags"][0], Json({{"Key", kOwnerTag}, {"Value", "u-1"}}));
}

TEST(StorePlanTest, FinalExportCoversTheExportingAssociationsOnly) {
  std::vector<Json> dras = {
      Json::parse(R"({"FileSystemPath": "/data", "DataRepositoryPath": "s3://bkt/data/", "Lifecycle": "AVAILABLE",
                      "S3": {"AutoImportPolicy": {"Events": ["NEW"]}}})"),
      Json::parse(R"({"FileSystemPath": "/ckpt", "DataRepositoryPath": "s3://bkt/ckpt/", "Lifecycle": "AVAILABLE",
                      "S3": {"AutoExportPolicy": {"Events": ["NEW"]}}})"),
      Json::parse(R"({"FileSystemPath": "/old", "DataRepositoryPath": "s3://bkt/old/", "Lifecycle": "DELETING",
                      "S3": {"AutoExportPolicy": {"Events": ["NEW"]}}})")};
  auto plan = PlanFinalExport(dras);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->paths, Json::array({"ckpt"})) << "relative to the file system root, as the API takes them";
  EXPECT_EQ(plan->report_path, "s3://bkt/ckpt/");
  Json r = FinalExportRequest("fs-1", *plan, "u-1", "exp-1");
  EXPECT_EQ(r["Type"], "EXPORT_TO_REPOSITORY");
  EXPECT_EQ(r["Report"]["Scope"], "FAILED_FILES_ONLY");
  EXPECT_EQ(r["ClientRequestToken"], "exp-1");
  EXPECT_FALSE(PlanFinalExport({dras[0]})) << "nothing exports: no task";
}

TEST(StorePlanTest, FinalExportReportGoesToTheCheckpointAssociationWhateverOrderFsxListsThem) {
  auto dra = [](const std::string& path) {
    return Json{{"FileSystemPath", path}, {"DataRepositoryPath", "s3://bkt" + path + "/"}, {"Lifecycle", "AVAILABLE"},
                {"S3", {{"AutoExportPolicy", {{"Events", {"NEW"}}}}}}};
  };
  std::vector<Json> dras = {dra("/results"), dra("/checkpoints"), dra("/logs")};
  EXPECT_EQ(PlanFinalExport(dras)->report_path, "s3://bkt/checkpoints/");
  EXPECT_EQ(PlanFinalExport(dras)->paths, Json::array({"checkpoints", "logs", "results"}));
  EXPECT_EQ(PlanFinalExport(dras, "/ckpt")->report_path, "s3://bkt/checkpoints/") << "no such association: first by path";
  EXPECT_EQ(PlanFinalExport(dras, "/logs")->report_path, "s3://bkt/logs/");
}

TEST(StorePlanTest, AssociationEventsAreSentences) {
  Json a = Json::parse(R"({"AssociationId": "dra-1", "FileSystemPath": "/ckpt", "DataRepositoryPath": "s3://bkt/ckpt/",
                           "S3": {"AutoExportPolicy": {"Events": ["NEW", "CHANGED"]}}})");
  EXPECT_EQ(AssociationSummary("Created", a),
            "creating data repository association dra-1: /ckpt <-> s3://bkt/ckpt/ (import none; export NEW,CHANGED)");
  EXPECT_EQ(AssociationSummary("Deleted", {{"AssociationId", "dra-1"}, {"Lifecycle", "DELETING"}}),
            "deleting data repository association dra-1");
  EXPECT_EQ(FileSystemUpdateSummary({{"FileSystemId", "fs-1"}, {"StorageCapacity", 4800}}), "updating fs-1: StorageCapacity 4800");
  EXPECT_EQ(FileSystemUpdateSummary({{"FileSystemId", "fs-1"},
                                     {"LustreConfiguration", {{"AutomaticBackupRetentionDays", 7}, {"DataCompressionType", "LZ4"}}}}),
            "updating fs-1: AutomaticBackupRetentionDays 7, DataCompressionType LZ4");
}

TEST(StorePlanTest, FindTaggedIgnoresDeletingAndOthers) {
  Json mine = {{"FileSystemId", "fs-2"}, {"Lifecycle", "CREATING"}, {"Tags", {{{"Key", kOwnerTag}, {"Value", "u-1"}}}}};
  Json dying = mine;
  dying["Lifecycle"] = "DELETING";
  Json other = {{"FileSystemId", "fs-3"}, {"Tags", {{{"Key", kOwnerTag}, {"Value", "u-9"}}}}};
  EXPECT_EQ(FindTagged({other, dying, mine}, "u-1")->at("FileSystemId"), "fs-2");
  EXPECT_FALSE(FindTagged({other, dying}, "u-1").has_value());
}

struct UpdateCase {
  const char* name;
  std::function<void(Json& spec_fs, Json& fs)> change;
  std::optional<Json> want;
};

TEST(StorePlanTest, UpdatesOneChangeAtATimeCapacityFirst) {
  std::vector<UpdateCase> cases = {
      {"in sync", [](Json&, Json&) {}, std::nullopt},
      {"capacity grows first",
       [](Json& s, Json&) {
         s["storageCapacityGiB"] = 4800;
         s["backups"]["automaticRetentionDays"] = 7;
       },
       Json{{"FileSystemId", "fs-1"}, {"StorageCapacity", 4800}}},
      {"capacity never shrinks", [](Json& s, Json&) { s["storageCapacityGiB"] = 1200; }, std::nullopt},
      {"throughput", [](Json& s, Json&) { s["perUnitStorageThroughput"] = 500; },
       Json{{"FileSystemId", "fs-1"}, {"LustreConfiguration", {{"PerUnitStorageThroughput", 500}}}}},
      {"backups and compression together",
       [](Json& s, Json&) {
         s["backups"] = {{"automaticRetentionDays", 7}, {"dailyStartTime", "05:30"}};
         s["dataCompressionType"] = "NONE";
       },
       Json{{"FileSystemId", "fs-1"}, {"LustreConfiguration", {{"AutomaticBackupRetentionDays", 7},
                                                               {"DailyAutomaticBackupStartTime", "05:30"},
                                                               {"DataCompressionType", "NONE"}}}}},
      {"adopted stores change nothing", [](Json& s, Json&) { s = {{"id", "fs-1"}}; }, std::nullopt},
  };
  for (const auto& c : cases) {
    Json spec_fs = Store()["spec"]["fileSystem"], fs = Fs();
    c.change(spec_fs, fs);
    EXPECT_EQ(FileSystemUpdate(spec_fs, fs), c.want) << c.name;
  }
}

TEST(StorePlanTest, AssociationsAreCreatedUpdatedAndRemovedByPath) {
  const Json ours = Json::array({{{"Key", kOwnerTag}, {"Value", "uid-1"}}});
  const AssociationOwnership owner{"uid-1"};
  std::vector<Json> current = {
      {{"AssociationId", "dra-1"}, {"FileSystemPath", "/data"}, {"Lifecycle", "AVAILABLE"},
       {"DataRepositoryPath", "s3://bkt/data/"}, {"Tags", ours},
       {"S3", {{"AutoImportPolicy", {{"Events", {"CHANGED", "NEW"}}}}}}},
      {{"AssociationId", "dra-2"}, {"FileSystemPath", "/old"}, {"Lifecycle", "AVAILABLE"}, {"Tags", ours}},
      {{"AssociationId", "dra-3"}, {"FileSystemPath", "/gone"}, {"Lifecycle", "DELETING"}, {"Tags", ours}}};
  AssociationPlan p = PlanAssociations(Store()["spec"], "fs-1", current, owner);
  ASSERT_EQ(p.create.size(), 1u);
  EXPECT_EQ(p.create[0]["FileSystemPath"], "/ckpt");
  EXPECT_EQ(p.create[0]["DataRepositoryPath"], "s3://bkt/ckpt/");
  EXPECT_EQ(p.create[0]["S3"]["AutoExportPolicy"]["Events"], Json::array({"NEW"}));
  EXPECT_TRUE(p.update.empty()) << "event order does not matter";
  ASSERT_EQ(p.remove.size(), 1u);
  EXPECT_EQ(p.remove[0]["AssociationId"], "dra-2");
  EXPECT_EQ(p.remove[0]["DeleteDataInFileSystem"], false) << "files stay in the file system";

  EXPECT_EQ(p.create[0]["Tags"], ours) << "what the store creates carries its owner tag";
  EXPECT_TRUE(p.conflicts.empty());

  current[0]["S3"]["AutoImportPolicy"]["Events"] = {"NEW"};
  p = PlanAssociations(Store()["spec"], "fs-1", current, owner);
  ASSERT_EQ(p.update.size(), 1u);
  EXPECT_EQ(p.update[0]["AssociationId"], "dra-1");
}

TEST(StorePlanTest, AssociationsSomeoneElseMadeAreNeverChangedOrDeleted) {
  const AssociationOwnership owner{"uid-1"};
  const Json theirs = Json::array({{{"Key", kOwnerTag}, {"Value", "uid-2"}}});
  std::vector<Json> current = {
      {{"AssociationId", "dra-1"}, {"FileSystemPath", "/data"}, {"Lifecycle", "AVAILABLE"}, {"DataRepositoryPath", "s3://bkt/data/"}},
      {{"AssociationId", "dra-2"}, {"FileSystemPath", "/scratch"}, {"Lifecycle", "AVAILABLE"}},
      {{"AssociationId", "dra-3"}, {"FileSystemPath", "/other"}, {"Lifecycle", "AVAILABLE"}, {"Tags", theirs}}};
  AssociationPlan p = PlanAssociations(Store()["spec"], "fs-1", current, owner);
  EXPECT_TRUE(p.remove.empty()) << "untagged or another store's: left alone";
  EXPECT_TRUE(p.update.empty());
  ASSERT_EQ(p.conflicts.size(), 1u) << "someone else's association at a wanted path";
  EXPECT_NE(p.conflicts[0].find("dra-1 at /data"), std::string::npos) << p.conflicts[0];

  AssociationOwnership created{"uid-1", true, {"dra-1", "dra-2"}};
  p = PlanAssociations(Store()["spec"], "fs-1", current, created);
  EXPECT_TRUE(p.conflicts.empty()) << "untagged, on the store's own file system and recorded: ours (made before tags)";
  ASSERT_EQ(p.remove.size(), 1u);
  EXPECT_EQ(p.remove[0]["AssociationId"], "dra-2");
}

TEST(StorePlanTest, OurAssociationLinkedElsewhereIsAConflictNotARecreate) {
  const Json ours = Json::array({{{"Key", kOwnerTag}, {"Value", "uid-1"}}});
  std::vector<Json> current = {{{"AssociationId", "dra-1"}, {"FileSystemPath", "/data"}, {"Lifecycle", "AVAILABLE"},
                                {"DataRepositoryPath", "s3://old-bucket/data/"}, {"Tags", ours}}};
  AssociationPlan p = PlanAssociations(Store()["spec"], "fs-1", current, {"uid-1"});
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_NE(p.conflicts[0].find("links to s3://old-bucket/data/ but the spec asks for s3://bkt/data/"), std::string::npos)
      << p.conflicts[0];
  EXPECT_TRUE(p.remove.empty() && p.update.empty());
}

TEST(StorePlanTest, VolumeIsAPreBoundStaticPair) {
  Json pv = PersistentVolume(Store(), Fs());
  EXPECT_EQ(pv["metadata"]["name"], "ckpt-ml-llm");
  EXPECT_EQ(pv["spec"]["csi"]["volumeHandle"], "fs-1");
  EXPECT_EQ(pv["spec"]["csi"]["volumeAttributes"]["mountname"], "abcd");
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
  EXPECT_EQ(pv["spec"]["claimRef"]["name"], "llm-ckpt");
  Json pvc = PersistentVolumeClaim(Store(), Fs());
  EXPECT_EQ(pvc["spec"]["volumeName"], "ckpt-ml-llm");
  EXPECT_EQ(pvc["spec"]["storageClassName"], "");
  EXPECT_EQ(pvc["metadata"]["ownerReferences"][0]["uid"], "u-1");
  EXPECT_EQ(pvc["metadata"]["ownerReferences"][0]["controller"], true);
}

TEST(StorePlanTest, ConditionsKeepTransitionTimeUnlessStatusFlips) {
  Json conds;
  EXPECT_TRUE(SetCondition(conds, "Ready", false, "Creating", "wait", 1, "t1"));
  EXPECT_FALSE(SetCondition(conds, "Ready", false, "Creating", "wait", 1, "t2")) << "no change, no write";
  EXPECT_EQ(conds[0]["lastTransitionTime"], "t1");
  EXPECT_TRUE(SetCondition(conds, "Ready", false, "Updating", "still waiting", 1, "t3"));
  EXPECT_EQ(conds[0]["lastTransitionTime"], "t1") << "same status: the transition time stays";
  EXPECT_TRUE(SetCondition(conds, "Ready", true, "Ready", "ok", 2, "t4"));
  EXPECT_EQ(conds[0]["lastTransitionTime"], "t4");
  EXPECT_EQ(conds[0]["observedGeneration"], 2);
}

TEST(StorePlanTest, AFileSystemMovesUntilItsLifecycleAndAdministrativeActionsSettle) {
  EXPECT_TRUE(FileSystemMoving({{"Lifecycle", "CREATING"}}));
  EXPECT_TRUE(FileSystemMoving({{"Lifecycle", "UPDATING"}}));
  EXPECT_FALSE(FileSystemMoving({{"Lifecycle", "AVAILABLE"}}));
  EXPECT_FALSE(FileSystemMoving({{"Lifecycle", "FAILED"}}));
  Json growing = {{"Lifecycle", "AVAILABLE"},
                  {"AdministrativeActions", {{{"AdministrativeActionType", "FILE_SYSTEM_UPDATE"}, {"Status", "IN_PROGRESS"}}}}};
  EXPECT_TRUE(FileSystemMoving(growing)) << "a storage change in progress";
  growing["AdministrativeActions"][0]["Status"] = "COMPLETED";
  EXPECT_FALSE(FileSystemMoving(growing));
}

TEST(StorePlanTest, OwnedByMatchesTheUidTagAndSkipsFileSystemsBeingDeleted) {
  Json fs = {{"Lifecycle", "AVAILABLE"}, {"Tags", {{{"Key", kOwnerTag}, {"Value", "uid-1"}}}}};
  EXPECT_TRUE(OwnedBy(fs, "uid-1"));
  EXPECT_FALSE(OwnedBy(fs, "uid-2"));
  fs["Lifecycle"] = "DELETING";
  EXPECT_FALSE(OwnedBy(fs, "uid-1"));
}

}  // namespace
}  // namespace ckpt::controllers
