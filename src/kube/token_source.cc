// Static, file and exec-plugin token sources (see include/ckpt/kube/token_source.h).
#include "ckpt/kube/token_source.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ckpt/common/subprocess.h"

namespace ckpt::kube {
namespace {

std::string Trim(std::string t) {
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string t) : token_(std::move(t)) {}
  StatusOr<std::string> Token() override { return token_; }

 private:
  const std::string token_;
};

class FileTokenSource final : public TokenSource {
 public:
  FileTokenSource(std::string path, std::string fallback, Clock& clock)
      : path_(std::move(path)), fallback_(std::move(fallback)), clock_(clock) {}

  StatusOr<std::string> Token() override {
    std::lock_guard<std::mutex> l(mu_);
    auto now = clock_.Monotonic();
    // Projected service-account tokens rotate; client-go re-reads the file once a minute too.
    if (cached_.empty() || now - read_at_ > std::chrono::minutes(1)) {
      std::ifstream in(path_);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string t = Trim(ss.str());
      if (!t.empty()) cached_ = t;
      read_at_ = now;
    }
    if (cached_.empty() && fallback_.empty()) return Unavailable("token file " + path_ + " is empty or unreadable");
    return cached_.empty() ? fallback_ : cached_;
  }
  void Invalidate() override {
    std::lock_guard<std::mutex> l(mu_);
    cached_.clear();  // forces a re-read on the next Token()
  }

 private:
  const std::string path_, fallback_;
  Clock& clock_;
  std::mutex mu_;
  std::string cached_;        // guarded by mu_
  Clock::MonoTime read_at_{};  // guarded by mu_
};

class ExecTokenSource final : public TokenSource {
 public:
  ExecTokenSource(ExecConfig exec, Clock& clock) : exec_(std::move(exec)), clock_(clock) {}

  StatusOr<std::string> Token() override {
    std::lock_guard<std::mutex> l(mu_);
    // Refresh a little before expiry so requests never carry an expired token.
    if (!token_.empty() && (!expires_ || clock_.Now() + std::chrono::seconds(30) < *expires_)) return token_;
    return RunPlugin();
  }
  void Invalidate() override {
    std::lock_guard<std::mutex> l(mu_);
    token_.clear();
  }

 private:
  StatusOr<std::string> RunPlugin() {
    std::vector<std::string> argv{exec_.command};
    argv.insert(argv.end(), exec_.args.begin(), exec_.args.end());
    auto env = exec_.env;
    nlohmann::json info = {{"apiVersion", exec_.api_version}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}};
    env.emplace_back("KUBERNETES_EXEC_INFO", info.dump());
    ASSIGN_OR_RETURN(std::string out, RunCommand(argv, env));
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.contains("status") || !j["status"].is_object())
      return InvalidArgument("exec plugin " + exec_.command + " printed no ExecCredential status");
    const auto& st = j["status"];
    if (!st.contains("token"))
      return InvalidArgument("exec plugin " + exec_.command + " returned no token (client certificates unsupported)");
    token_ = st["token"].get<std::string>();
    expires_.reset();
    Clock::WallTime t;
    if (st.contains("expirationTimestamp") && ParseRfc3339(st["expirationTimestamp"].get<std::string>(), t)) expires_ = t;
    return token_;
  }

  const ExecConfig exec_;
  Clock& clock_;
  std::mutex mu_;
  std::string token_;                       // guarded by mu_
  std::optional<Clock::WallTime> expires_;  // guarded by mu_
};

}  // namespace

TokenSourcePtr NewTokenSource(const ClientConfig& c, Clock& clock) {
  if (c.exec.enabled()) return std::make_unique<ExecTokenSource>(c.exec, clock);
  if (!c.token_file.empty()) return std::make_unique<FileTokenSource>(c.token_file, c.bearer_token, clock);
  return std::make_unique<StaticTokenSource>(c.bearer_token);
}

}  // namespace ckpt::kube
