// Spawning the daemon for integration tests (see operator_process.h).
#include "integration/operator_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

extern char** environ;

namespace ckpt::testing {

std::vector<std::string> DaemonArgs(const std::string& kubeconfig, const std::string& fsx_url,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--kubeconfig", kubeconfig, "--aws-endpoint-url", fsx_url, "--aws-region", "us-east-1",
                                "--fsx-poll-interval", "300ms", "--health-probe-bind-address", "127.0.0.1:0",
                                "--metrics-bind-address", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

pid_t SpawnOperator(const std::string& binary, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all{binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);  // the key the FSx emulator accepts
  setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid = 0;
  if (posix_spawn(&pid, binary.c_str(), &files, nullptr, argv.data(), environ) != 0) pid = 0;
  posix_spawn_file_actions_destroy(&files);
  return pid;
}

int StopOperator(pid_t pid) {
  if (pid <= 0 || kill(pid, SIGTERM) != 0) return -1;
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus)) return -1;
  return WEXITSTATUS(wstatus);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int PortFromLog(const std::string& log, const std::string& what) {
  std::smatch m;
  const std::string text = ReadFile(log);
  if (!std::regex_search(text, m, std::regex(what + " on \\S+ \\(port (\\d+)\\)"))) return 0;
  return std::stoi(m[1]);
}

StatusOr<http::HttpResponse> HttpGet(int port, const std::string& path) {
  return http::NewCurlTransport({})->Send({"GET", "http://127.0.0.1:" + std::to_string(port) + path, {}, ""});
}

double MetricSum(const std::string& exposition, const std::string& metric, const std::string& label_filter) {
  double sum = 0;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(metric) || line.size() <= metric.size() || (line[metric.size()] != '{' && line[metric.size()] != ' '))
      continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace ckpt::testing
