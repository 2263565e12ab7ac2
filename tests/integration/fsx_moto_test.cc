// Cross-check: the FSx client against moto's server (a third-party emulator installed by
// hack/install-moto.sh), for every operation moto implements that the client uses -
// CreateFileSystem, DescribeFileSystems (all, by id, not found), DeleteFileSystem, CreateBackup,
// DescribeBackups, TagResource and ListTagsForResource - so our own emulator is not the only judge.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fakes/static_credentials.h"

#include <filesystem>
#include <iostream>
#include <thread>

#include "ckpt/aws/fsx_client.h"

extern char** environ;

namespace ckpt::aws {
namespace {

using namespace std::chrono_literals;

using testing::StaticCredentials;

std::string MotoServerPath() {
  const char* env = std::getenv("CKPT_MOTO_SERVER");
  if (env && *env) return env;
  return std::string(CKPT_SOURCE_DIR) + "/.cache/moto-5.2.5/bin/moto_server";
}

// A loopback port nobody holds now (the kernel picks it), so parallel tests do not collide.
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

class FsxMotoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string bin = MotoServerPath();
    ASSERT_TRUE(std::filesystem::exists(bin)) << bin << " missing: run hack/install-moto.sh (hack/test.sh does)";
    port_ = FreeLoopbackPort();
    ASSERT_NE(port_, 0);
    std::vector<std::string> args{bin, "-H", "127.0.0.1", "-p", std::to_string(port_)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    auto http = http::NewCurlTransport({});
    // A cold first start (Python compiling moto's modules) on a busy 2-core machine takes
    // seconds; give it a minute, and say so at once if it exits instead.
    for (int i = 0; i < 600; ++i) {
      auto r = http->Send({"GET", Url() + "/moto-api/"});
      if (r.ok() && r->status == 200) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL() << "moto_server exited (status " << status << ") before serving on port " << port_;
      }
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "moto_server did not serve on port " << port_ << " within 60 s";
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  static std::string Url() { return "http://127.0.0.1:" + std::to_string(port_); }

  void SetUp() override {
    JsonRpcOptions o;
    o.endpoint = Url();
    o.region = "us-east-1";
    o.credentials = &creds_;
    client_ = NewFsxClient(o);
  }

  static inline pid_t pid_ = 0;
  static inline int port_ = 0;
  StaticCredentials creds_;
  FsxClientPtr client_;
};

Json Request(const std::string& token) {
  return {{"ClientRequestToken", token}, {"FileSystemType", "LUSTRE"}, {"StorageCapacity", 2400},
          {"SubnetIds", {"subnet-0123456789abcdef0"}},
          {"LustreConfiguration", {{"DeploymentType", "PERSISTENT_2"}, {"PerUnitStorageThroughput", 250}}},
          {"Tags", {{{"Key", "ckpt.trainops.io/uid"}, {"Value", token}}}}};
}

TEST_F(FsxMotoTest, CreateDescribeTagBackupDelete) {
  auto fs = client_->CreateFileSystem(Request("moto-1"));
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  std::string id = (*fs)["FileSystemId"];
  EXPECT_TRUE(id.starts_with("fs-"));
  EXPECT_EQ((*fs)["FileSystemType"], "LUSTRE");

  auto byid = client_->DescribeFileSystems({id});
  ASSERT_TRUE(byid.ok()) << byid.status().ToString();
  ASSERT_EQ(byid->size(), 1u);
  EXPECT_EQ((*byid)[0]["StorageCapacity"], 2400);
  auto all = client_->DescribeFileSystems({});
  ASSERT_TRUE(all.ok());
  EXPECT_GE(all->size(), 1u);

  std::string arn = (*byid)[0].value("ResourceARN", "");
  ASSERT_FALSE(arn.empty());
  ASSERT_TRUE(client_->TagResource(arn, Json::array({{{"Key", "team"}, {"Value", "ml"}}})).ok());
  auto tags = client_->ListTagsForResource(arn);
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  bool team = false;
  for (const auto& t : *tags) team |= t["Key"] == "team" && t["Value"] == "ml";
  EXPECT_TRUE(team) << tags->dump();

  auto backup = client_->CreateBackup({{"FileSystemId", id}, {"ClientRequestToken", "b-1"}});
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  auto backups = client_->DescribeBackups({{"BackupIds", {(*backup)["BackupId"]}}});
  ASSERT_TRUE(backups.ok()) << backups.status().ToString();
  EXPECT_EQ(backups->size(), 1u);

  auto del = client_->DeleteFileSystem({{"FileSystemId", id}, {"ClientRequestToken", "d-1"}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ((*del)["FileSystemId"], id);
}

// AWS documents FileSystemNotFound for an unknown id; moto 5.2.5 answers with an empty list. The
// client must handle both without inventing a file system (our emulator follows AWS).
TEST_F(FsxMotoTest, MissingFileSystemIsNotFoundOrEmpty) {
  auto r = client_->DescribeFileSystems({"fs-0000000000000dead"});
  if (r.ok()) {
    EXPECT_TRUE(r->empty());
    std::cerr << "[moto] DescribeFileSystems of an unknown id: empty list (AWS: FileSystemNotFound)\n";
  } else {
    EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
    EXPECT_EQ(r.status().reason(), "FileSystemNotFound");
  }
}

}  // namespace
}  // namespace ckpt::aws
