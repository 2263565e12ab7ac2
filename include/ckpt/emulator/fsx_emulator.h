// FsxEmulator: a stand-in for the Amazon FSx API that ckpt-operator's tests and local demo point
// the operator at. It speaks awsJson1_1 on loopback and, like AWS, verifies SigV4 signatures
// (unknown key, wrong secret, clock skew over 5 minutes), validates each request against the
// vendored botocore model and the FSx for Lustre rules with AWS's error codes, runs lifecycles on
// a clock, honours ClientRequestToken idempotency, injects faults on demand, and counts calls per
// operation. Control endpoints: GET /_emulator/stats, POST /_emulator/faults (JSON Faults: throttleRate,
// errorRate, latencyMs, stuckLifecycle, failTasks, deniedOperations).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/common/status.h"

namespace ckpt::emulator {

struct Faults {
  double throttle_rate = 0;  // share of requests answered with ThrottlingException (400)
  double error_rate = 0;     // share answered with InternalServerError (500)
  std::chrono::milliseconds latency{0};
  bool stuck_lifecycle = false;  // resources never leave CREATING/UPDATING/DELETING
  bool fail_tasks = false;       // data repository tasks end FAILED, with FailureDetails
  // Operations an IAM policy denies explicitly (e.g. the seeds' deletion protection, a deny on
  // fsx:DeleteFileSystem): answered with AccessDeniedException (400), before anything is changed.
  std::set<std::string> denied_operations;
};

struct FsxEmulatorOptions {
  std::string address = "127.0.0.1:0";
  std::string model_path;  // botocore fsx service-2.json
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::map<std::string, std::string> access_keys{{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
  std::chrono::milliseconds create_time{2000}, update_time{1000}, delete_time{1000}, association_time{1000};
  Faults faults;
  Clock* clock = nullptr;  // defaults to SystemClock()
  uint64_t seed = 1;
};

class FsxEmulator {
 public:
  virtual ~FsxEmulator() = default;
  virtual std::string url() const = 0;
  virtual void SetFaults(const Faults& faults) = 0;
  // Calls per operation (including rejected ones) since start.
  virtual std::map<std::string, int> CallCounts() const = 0;
  virtual size_t FileSystemCount() const = 0;
};

StatusOr<std::unique_ptr<FsxEmulator>> StartFsxEmulator(FsxEmulatorOptions options);

// The path of the vendored FSx model in a source checkout (for tests and the demo).
std::string DefaultFsxModelPath();

}  // namespace ckpt::emulator
