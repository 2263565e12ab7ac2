// fsx-emulator: runs the FSx emulator as a standalone server for the local demo and manual tests.
//   fsx-emulator [--listen 127.0.0.1:4566] [--model PATH] [--create-seconds 2] [--throttle-rate 0]
//                [--error-rate 0] [--latency-ms 0] [--access-key AKID:SECRET]...
// Prints the URL to pass to the operator's --aws-endpoint-url and serves until SIGTERM/SIGINT.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "ckpt/emulator/fsx_emulator.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

int Usage() {
  std::cerr << "usage: fsx-emulator [--listen HOST:PORT] [--model PATH] [--create-seconds N] [--throttle-rate R]\n"
               "                    [--error-rate R] [--latency-ms N] [--access-key AKID:SECRET]...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ckpt::emulator::FsxEmulatorOptions o;
  o.address = "127.0.0.1:4566";
  bool custom_keys = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h" || i + 1 >= argc) return Usage();
    std::string v = argv[++i];
    if (flag == "--listen") o.address = v;
    else if (flag == "--model") o.model_path = v;
    else if (flag == "--create-seconds") o.create_time = std::chrono::milliseconds(static_cast<int>(std::stod(v) * 1000));
    else if (flag == "--throttle-rate") o.faults.throttle_rate = std::stod(v);
    else if (flag == "--error-rate") o.faults.error_rate = std::stod(v);
    else if (flag == "--latency-ms") o.faults.latency = std::chrono::milliseconds(std::stoi(v));
    else if (flag == "--access-key" && v.find(':') != std::string::npos) {
      if (!custom_keys) o.access_keys.clear();
      custom_keys = true;
      o.access_keys[v.substr(0, v.find(':'))] = v.substr(v.find(':') + 1);
    } else return Usage();
  }
  auto e = ckpt::emulator::StartFsxEmulator(o);
  if (!e.ok()) {
    std::cerr << "fsx-emulator: " << e.status().ToString() << "\n";
    return 1;
  }
  std::cout << (*e)->url() << std::endl;
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return 0;
}
