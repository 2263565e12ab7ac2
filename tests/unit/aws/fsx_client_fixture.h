// The fixture the FSx client tests share: a fresh FSx emulator on loopback with fast lifecycles,
// a client signed with the emulator's example key, a PERSISTENT_2 create request, and a wait for a
// file system's lifecycle.
#pragma once

#include <gtest/gtest.h>

#include "fakes/static_credentials.h"

#include <thread>

#include "ckpt/aws/fsx_client.h"
#include "ckpt/emulator/fsx_emulator.h"

namespace ckpt::aws {

using namespace std::chrono_literals;

using testing::StaticCredentials;

inline Json Persistent2(int capacity = 2400) {
  return {{"ClientRequestToken", "uid-1-gen-1"}, {"FileSystemType", "LUSTRE"}, {"StorageCapacity", capacity},
          {"SubnetIds", {"subnet-0123456789abcdef0"}}, {"FileSystemTypeVersion", "2.15"},
          {"LustreConfiguration", {{"DeploymentType", "PERSISTENT_2"}, {"PerUnitStorageThroughput", 250},
                                   {"AutomaticBackupRetentionDays", 30}, {"DailyAutomaticBackupStartTime", "03:00"},
                                   {"DataCompressionType", "LZ4"}}},
          {"Tags", {{{"Key", "ckpt.trainops.io/uid"}, {"Value", "uid-1"}}}}};
}

class FsxClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::FsxEmulatorOptions o;
    o.create_time = o.update_time = o.delete_time = o.association_time = 150ms;
    auto e = emulator::StartFsxEmulator(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    emulator_ = std::move(e).value();
    client_ = Client(good_);
  }
  FsxClientPtr Client(CredentialsProvider& creds, Clock& clock = SystemClock(), int attempts = 3) {
    JsonRpcOptions o;
    o.endpoint = emulator_->url();
    o.region = "us-east-1";
    o.credentials = &creds;
    o.clock = &clock;
    o.retry = {.max_attempts = attempts, .max_backoff = 50ms, .seed = 7};
    return NewFsxClient(o);
  }
  Json WaitFor(const std::string& id, const std::string& lifecycle) {
    for (int i = 0; i < 100; ++i) {
      auto fs = client_->DescribeFileSystems({id});
      if (fs.ok() && (*fs)[0]["Lifecycle"] == lifecycle) return (*fs)[0];
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << id << " never became " << lifecycle;
    return {};
  }

  StaticCredentials good_;
  std::unique_ptr<emulator::FsxEmulator> emulator_;
  FsxClientPtr client_;
};

}  // namespace ckpt::aws
