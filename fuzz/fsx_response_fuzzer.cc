// libFuzzer target: decoding FSx responses. A transport stands in for the network and answers
// every FSx call with the fuzzer's bytes (the first byte picks the HTTP status, the rest is the
// body; later pages are empty), and the real FSx client decodes them through each operation
// shape the operator uses: single objects, paginated lists, AWS error bodies. Any response must
// become a value or an error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ckpt/aws/fsx_client.h"
#include "fakes/static_credentials.h"

namespace {

class FuzzTransport final : public ckpt::http::HttpTransport {
 public:
  FuzzTransport(int status, std::string body) : status_(status), body_(std::move(body)) {}
  ckpt::StatusOr<ckpt::http::HttpResponse> Send(const ckpt::http::HttpRequest&) override {
    ckpt::http::HttpResponse r{status_, {{"x-amzn-errortype", "Fuzzed"}}, sent_ ? "{}" : body_};
    sent_ = true;
    return r;
  }
  ckpt::StatusOr<int> Stream(const ckpt::http::HttpRequest&, const ckpt::http::StreamHandler&) override { return 0; }
  void Rewind() { sent_ = false; }

 private:
  int status_;
  std::string body_;
  bool sent_ = false;
};

constexpr int kStatuses[] = {200, 400, 403, 404, 429, 500, 503, 302};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FuzzTransport transport(kStatuses[data[0] % 8], std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  ckpt::testing::StaticCredentials credentials;
  ckpt::aws::JsonRpcOptions o;
  o.region = "us-east-1";
  o.credentials = &credentials;
  o.transport = &transport;
  o.retry = {.max_attempts = 1};
  auto fsx = ckpt::aws::NewFsxClient(o);
  (void)fsx->DescribeFileSystems({});
  transport.Rewind();
  (void)fsx->CreateFileSystem({{"FileSystemType", "LUSTRE"}});
  transport.Rewind();
  (void)fsx->DescribeDataRepositoryAssociations(ckpt::aws::Json::array());
  transport.Rewind();
  (void)fsx->DescribeDataRepositoryTasks(ckpt::aws::Json::object());
  transport.Rewind();
  (void)fsx->DeleteFileSystem({{"FileSystemId", "fs-0123456789abcdef0"}});
  return 0;
}
