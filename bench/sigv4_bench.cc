// Cost of signing one FSx request (SigV4, header signing, ~1 KB JSON body) on one core, with and
// without a session token. Google Benchmark prints ns per signature.
#include <benchmark/benchmark.h>

#include "ckpt/aws/signer.h"

namespace ckpt::aws {
namespace {

void BM_SignFsxRequest(benchmark::State& state) {
  FakeClock clock;
  auto signer = NewSigV4Signer(clock);
  Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    state.range(0) ? std::string(800, 't') : "", std::nullopt};
  std::string body(1024, 'x');
  for (auto _ : state) {
    http::HttpRequest r{"POST", "https://fsx.us-east-1.amazonaws.com/",
                        {{"Content-Type", "application/x-amz-json-1.1"},
                         {"X-Amz-Target", "AWSSimbaAPIService_v20180301.DescribeFileSystems"}},
                        body};
    Status s = signer->Sign(r, creds, "us-east-1", "fsx");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SignFsxRequest)->Arg(0)->Arg(1)->ArgName("session_token");

}  // namespace
}  // namespace ckpt::aws

BENCHMARK_MAIN();
