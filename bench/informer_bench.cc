// informer_bench: loads N custom objects (~2 KB each) into the informer cache from a real
// kube-apiserver and prints list+sync time, process RSS, and watch events per second, both
// end-to-end from the server and for our decode+cache path alone on one core.
//   informer_bench [--objects N] [--kubeconfig PATH]   (no kubeconfig: starts its own envtest)
// Objects are created and later modified by child processes of this binary (--create/--touch
// modes), so the parent's RSS is the cache's footprint, not the load generator's.
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "ckpt/kube/informer.h"
#include "ckpt/kube/watch_decoder.h"
#include "integration/envtest.h"
#include "integration/test_objects.h"

extern char** environ;

namespace ckpt::bench {
namespace {

using kube::Json;
namespace res = kube::resources;
using Seconds = std::chrono::duration<double>;

long StatusKb(const char* field) {  // VmRSS / VmHWM from /proc/self/status
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field) + 1));
  return -1;
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Child modes: create or modify objects bench-0..bench-(n-1) in namespace "bench" with 4 threads.
int LoadMode(const std::string& kubeconfig, const std::string& mode, int n) {
  auto config = kube::LoadKubeconfig(kubeconfig);
  if (!config.ok()) return 2;
  config->qps = 0;
  if (mode == "--create") {
    auto c = kube::NewRestClient(*config);
    (void)c->Create(res::Namespaces(), "", Json{{"metadata", {{"name", "bench"}}}});
  }
  std::atomic<int> next{0}, failed{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto c = kube::NewRestClient(*config);
      for (int i; (i = next++) < n;) {
        std::string name = "bench-" + std::to_string(i);
        bool ok = mode == "--create"
                      ? c->Create(res::CheckpointStores(), "bench", testing::CheckpointStoreObject("bench", name, 1500)).ok()
                      : c->Patch(res::CheckpointStores(), "bench", name, {kube::PatchType::kMerge},
                                 R"({"spec":{"deletionPolicy":"Delete"}})").ok();
        if (!ok) ++failed;
      }
    });
  }
  threads.clear();
  return failed ? 1 : 0;
}

int RunChild(const std::string& self, const std::string& kubeconfig, const char* mode, int n) {
  std::string count = std::to_string(n);
  std::vector<std::string> args{self, mode, kubeconfig, count};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Our decode + cache path alone: N real objects as watch lines through WatchDecoder + Writer.
void DecodeThroughput(kube::KubeClient& client) {
  auto list = client.List(res::CheckpointStores(), "bench", {});
  std::string stream;
  size_t n = (*list)["items"].size();
  for (auto& item : (*list)["items"]) {
    item["kind"] = "CheckpointStore";
    item["apiVersion"] = "trainops.io/v1alpha1";
    stream += Json{{"type", "MODIFIED"}, {"object", item}}.dump();
    stream += '\n';
  }
  list = Status(StatusCode::kCancelled, "freed");
  const int rounds = 5;
  double cpu0 = ThreadCpuSeconds();
  for (int r = 0; r < rounds; ++r) {
    kube::Writer writer;
    kube::WatchDecoder decoder;
    for (size_t pos = 0; pos < stream.size(); pos += 16384)  // chunks as curl delivers them
      (void)decoder.Feed(std::string_view(stream).substr(pos, 16384), [&](kube::WatchEvent&& e) {
        writer.Apply(std::move(e));
        return true;
      });
  }
  double cpu = ThreadCpuSeconds() - cpu0;
  std::printf("decode+cache (one core)    %10.0f events/s   (%zu events x %d rounds, %.1f MB stream, %.2f s CPU)\n",
              static_cast<double>(n * rounds) / cpu, n, rounds, static_cast<double>(stream.size()) / 1e6, cpu);
}

int Main(int argc, char** argv) {
  if (argc == 4 && (std::strcmp(argv[1], "--create") == 0 || std::strcmp(argv[1], "--touch") == 0))
    return LoadMode(argv[2], argv[1], std::stoi(argv[3]));
  int n = 10000;
  std::string kubeconfig;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--objects") == 0) n = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--kubeconfig") == 0) kubeconfig = argv[i + 1];
  }
  std::unique_ptr<testing::ControlPlane> cp;
  if (kubeconfig.empty()) {
    auto started = testing::ControlPlane::Start({});
    if (!started.ok()) {
      std::cerr << started.status().ToString() << "\n";
      return 1;
    }
    cp = std::move(started).value();
    kubeconfig = cp->kubeconfig();
  }
  auto t0 = std::chrono::steady_clock::now();
  if (RunChild(argv[0], kubeconfig, "--create", n) != 0) return 1;
  std::printf("created %d objects in %.1f s (child process)\n", n, Seconds(std::chrono::steady_clock::now() - t0).count());

  auto config = kube::LoadKubeconfig(kubeconfig);
  auto client = kube::NewRestClient(*config);
  long rss_before = StatusKb("VmRSS:");
  kube::Informer informer(*client, {res::CheckpointStores(), "bench"}, SystemClock());
  std::atomic<int> updates{0};
  informer.AddHandler([&](const kube::ObjectEvent& e) {
    if (e.type == kube::ObjectEvent::Type::kUpdated) ++updates;
  });
  t0 = std::chrono::steady_clock::now();
  informer.Start();
  informer.store().WaitUntilReady(std::chrono::minutes(5));
  double sync = Seconds(std::chrono::steady_clock::now() - t0).count();
  long rss_synced = StatusKb("VmRSS:");
  long peak_synced = StatusKb("VmHWM:");

  t0 = std::chrono::steady_clock::now();
  if (RunChild(argv[0], kubeconfig, "--touch", n) != 0) return 1;
  while (updates < n) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double watch = Seconds(std::chrono::steady_clock::now() - t0).count();
  long rss_after_watch = StatusKb("VmRSS:");

  std::printf("\n%-26s %10s\n", "figure", "value");
  std::printf("objects in cache           %10zu\n", informer.store().size());
  std::printf("list+sync                  %10.2f s  (%.0f objects/s, pages of 500)\n", sync, n / sync);
  std::printf("RSS before informer        %10.1f MB\n", rss_before / 1024.0);
  std::printf("RSS after sync             %10.1f MB  (target <= 64 MB)\n", rss_synced / 1024.0);
  std::printf("peak RSS during sync       %10.1f MB\n", peak_synced / 1024.0);
  std::printf("RSS after %d updates    %10.1f MB\n", n, rss_after_watch / 1024.0);
  std::printf("cache cost per object      %10.2f KB\n", (rss_synced - rss_before) / static_cast<double>(n));
  std::printf("watch end to end           %10.0f events/s  (bound by the API server; writers in a child)\n", n / watch);
  DecodeThroughput(*client);
  std::printf("peak RSS (VmHWM)           %10.1f MB  (includes the decode benchmark's %d-event stream)\n",
              StatusKb("VmHWM:") / 1024.0, n);
  informer.Stop();
  return 0;
}

}  // namespace
}  // namespace ckpt::bench

int main(int argc, char** argv) { return ckpt::bench::Main(argc, argv); }
