// FSx's data protection rules as the emulator enforces them, through the FSx client: backups only
// of persistent file systems not linked to S3 (CreateBackup and automatic backup settings refused
// on a linked one), a restore from a backup shaped like the file system backed up, and data
// repository tasks (export over linked paths, one at a time per file system, failure details,
// cancel, deletion refused while a task runs, not-found for unknown ids).
#include "unit/aws/fsx_client_fixture.h"

namespace ckpt::aws {
namespace {

class FsxDataProtectionTest : public FsxClientTest {
 protected:
  // An AVAILABLE PERSISTENT_2 file system without backups, linked at /checkpoints when `linked`;
  // the link exports automatically only when `auto_export` (export tasks need it off).
  std::string FileSystem(bool linked, const std::string& token, bool auto_export = false) {
    Json r = Persistent2();
    r["ClientRequestToken"] = token;
    r["LustreConfiguration"]["AutomaticBackupRetentionDays"] = 0;
    std::string id = (*client_->CreateFileSystem(r))["FileSystemId"];
    WaitFor(id, "AVAILABLE");
    if (linked) {
      Json events = auto_export ? Json{"NEW", "CHANGED", "DELETED"} : Json::array();
      auto a = client_->CreateDataRepositoryAssociation(
          {{"FileSystemId", id}, {"FileSystemPath", "/checkpoints"}, {"DataRepositoryPath", "s3://bucket/checkpoints/"},
           {"S3", {{"AutoExportPolicy", {{"Events", events}}}}}});
      EXPECT_TRUE(a.ok()) << a.status().ToString();
      association_ = (*a)["AssociationId"];
    }
    return id;
  }
  Json Export(const std::string& fs_id, Json paths, const std::string& token) {
    return {{"Type", "EXPORT_TO_REPOSITORY"}, {"FileSystemId", fs_id}, {"Paths", std::move(paths)},
            {"Report", {{"Enabled", false}}}, {"ClientRequestToken", token}};
  }
  Json WaitForTask(const std::string& id, const std::string& lifecycle) {
    for (int i = 0; i < 200; ++i) {
      auto t = client_->DescribeDataRepositoryTasks({{"TaskIds", {id}}});
      if (t.ok() && (*t)[0]["Lifecycle"] == lifecycle) return (*t)[0];
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << id << " never became " << lifecycle;
    return {};
  }
  std::string association_;
};

TEST_F(FsxDataProtectionTest, LinkedFileSystemsTakeNoBackups) {
  std::string linked = FileSystem(true, "linked");
  EXPECT_EQ(client_->CreateBackup({{"FileSystemId", linked}}).status().reason(), "UnsupportedOperation");
  auto retention = client_->UpdateFileSystem({{"FileSystemId", linked}, {"LustreConfiguration", {{"AutomaticBackupRetentionDays", 7}}}});
  EXPECT_EQ(retention.status().reason(), "UnsupportedOperation");
  std::string unlinked = FileSystem(false, "unlinked");
  EXPECT_TRUE(client_->CreateBackup({{"FileSystemId", unlinked}}).ok());
}

TEST_F(FsxDataProtectionTest, RestoreTakesTheBackedUpShape) {
  Json r = Persistent2(4800);
  r["ClientRequestToken"] = "source";
  std::string source = (*client_->CreateFileSystem(r))["FileSystemId"];
  WaitFor(source, "AVAILABLE");
  std::string backup = (*client_->CreateBackup({{"FileSystemId", source}}))["BackupId"];
  Json restore = {{"BackupId", backup}, {"SubnetIds", {"subnet-0123456789abcdef0"}}, {"ClientRequestToken", "restore"}};
  EXPECT_EQ(client_->CreateFileSystemFromBackup(restore).status().reason(), "BadRequest") << "backup still CREATING";
  std::this_thread::sleep_for(1100ms);
  auto made = client_->CreateFileSystemFromBackup(restore);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ((*made)["Lifecycle"], "CREATING");
  EXPECT_EQ((*client_->CreateFileSystemFromBackup(restore))["FileSystemId"], (*made)["FileSystemId"]) << "idempotent";
  Json fs = WaitFor((*made)["FileSystemId"], "AVAILABLE");
  EXPECT_EQ(fs["StorageCapacity"], 4800);
  EXPECT_EQ(fs["LustreConfiguration"]["PerUnitStorageThroughput"], 250);
  EXPECT_EQ(fs["LustreConfiguration"]["AutomaticBackupRetentionDays"], 30) << "backup settings default to the source's";
  restore["BackupId"] = "backup-0000000000000dead";
  restore["ClientRequestToken"] = "missing";
  EXPECT_EQ(client_->CreateFileSystemFromBackup(restore).status().reason(), "BackupNotFound");
}

TEST_F(FsxDataProtectionTest, ExportTaskRunsOneAtATimeAndHoldsDeletion) {
  std::string id = FileSystem(true, "fs");
  auto task = client_->CreateDataRepositoryTask(Export(id, {"checkpoints"}, "t1"));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  EXPECT_EQ((*task)["Lifecycle"], "PENDING");
  EXPECT_EQ(client_->CreateDataRepositoryTask(Export(id, {"checkpoints"}, "t2")).status().reason(),
            "DataRepositoryTaskExecuting");
  EXPECT_EQ(client_->DeleteFileSystem({{"FileSystemId", id}}).status().reason(), "BadRequest");
  Json done = WaitForTask((*task)["TaskId"], "SUCCEEDED");
  EXPECT_EQ(done["Status"]["FailedCount"], 0);
  EXPECT_TRUE(done.contains("EndTime"));
  auto outside = client_->CreateDataRepositoryTask(Export(id, {"scratch"}, "t3"));
  ASSERT_TRUE(outside.ok());
  Json failed = WaitForTask((*outside)["TaskId"], "FAILED");
  EXPECT_NE(failed["FailureDetails"]["Message"].get<std::string>().find("/scratch"), std::string::npos);
  EXPECT_EQ(client_->DescribeDataRepositoryTasks({{"TaskIds", {"task-0000000000000dead"}}}).status().reason(),
            "DataRepositoryTaskNotFound");
}

// "Automatic export and export data repository tasks cannot run at the same time"
// (LustreGuide/export-changed-data-meta-dra.html): refused while the link exports automatically,
// accepted once its AutoExportPolicy has no events.
TEST_F(FsxDataProtectionTest, ExportTaskWaitsForAutomaticExportToBeTurnedOff) {
  std::string id = FileSystem(true, "fs", /*auto_export=*/true);
  auto refused = client_->CreateDataRepositoryTask(Export(id, {"checkpoints"}, "t1"));
  ASSERT_EQ(refused.status().reason(), "BadRequest");
  EXPECT_NE(refused.status().message().find(association_), std::string::npos) << refused.status().ToString();
  auto paused = client_->UpdateDataRepositoryAssociation(
      {{"AssociationId", association_}, {"S3", {{"AutoExportPolicy", {{"Events", Json::array()}}}}}});
  ASSERT_TRUE(paused.ok()) << paused.status().ToString();
  for (int i = 0; i < 200; ++i) {
    auto a = client_->DescribeDataRepositoryAssociations(Json::array({{{"Name", "file-system-id"}, {"Values", {id}}}}));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    if ((*a)[0]["Lifecycle"] == "AVAILABLE") break;
    std::this_thread::sleep_for(20ms);
  }
  auto task = client_->CreateDataRepositoryTask(Export(id, {"checkpoints"}, "t2"));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  WaitForTask((*task)["TaskId"], "SUCCEEDED");
}

TEST_F(FsxDataProtectionTest, InjectedFailureAndCancel) {
  std::string id = FileSystem(true, "fs");
  emulator_->SetFaults({.fail_tasks = true});
  std::string failing = (*client_->CreateDataRepositoryTask(Export(id, {"checkpoints"}, "t1")))["TaskId"];
  Json failed = WaitForTask(failing, "FAILED");
  EXPECT_EQ(failed["Status"]["FailedCount"], 3);
  emulator_->SetFaults({});
  std::string cancelled = (*client_->CreateDataRepositoryTask(Export(id, {"checkpoints"}, "t2")))["TaskId"];
  auto cancel = client_->CancelDataRepositoryTask({{"TaskId", cancelled}});
  ASSERT_TRUE(cancel.ok()) << cancel.status().ToString();
  EXPECT_EQ((*cancel)["Lifecycle"], "CANCELING");
  WaitForTask(cancelled, "CANCELED");
  EXPECT_EQ(client_->CancelDataRepositoryTask({{"TaskId", cancelled}}).status().reason(), "DataRepositoryTaskEnded");
  Json filter = {{"Filters", {{{"Name", "file-system-id"}, {"Values", {id}}}, {{"Name", "task-lifecycle"}, {"Values", {"FAILED"}}}}}};
  auto listed = client_->DescribeDataRepositoryTasks(filter);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["TaskId"], failing);
}

}  // namespace
}  // namespace ckpt::aws
