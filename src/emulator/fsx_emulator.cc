// The FSx emulator's HTTP front (see include/ckpt/emulator/fsx_emulator.h). Each request passes,
// in order: control endpoints, call counting, injected latency/faults, SigV4 verification,
// X-Amz-Target routing, model validation, then the FsxService.
#include "ckpt/emulator/fsx_emulator.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "ckpt/http/server.h"
#include "emulator/fsx_service.h"
#include "emulator/model_validator.h"
#include "emulator/sigv4_verifier.h"

namespace ckpt::emulator {
namespace {

constexpr char kTargetPrefix[] = "AWSSimbaAPIService_v20180301.";

http::HttpResponse ErrorReply(const Status& s) {
  int code = s.code() == StatusCode::kUnavailable ? 500 : s.code() == StatusCode::kUnauthenticated ? 403 : 400;
  Json body = {{"__type", s.reason()}, {"Message", s.message()}};
  return {code, {{"Content-Type", "application/x-amz-json-1.1"}, {"x-amzn-ErrorType", s.reason()}}, body.dump()};
}

class Emulator final : public FsxEmulator {
 public:
  Emulator(FsxEmulatorOptions o, ModelValidator model)
      : options_(std::move(o)),
        clock_(options_.clock ? *options_.clock : SystemClock()),
        model_(std::move(model)),
        service_(clock_, {options_.create_time, options_.update_time, options_.delete_time, options_.association_time,
                          options_.association_time, options_.association_time},
                 options_.region, options_.account_id),
        rng_(options_.seed) {
    SetFaults(options_.faults);
  }

  Status Listen() {
    ASSIGN_OR_RETURN(server_, http::HttpServer::Start(options_.address, [this](const http::ServerRequest& r) {
      return Serve(r);
    }, 8));
    return Status::Ok();
  }

  std::string url() const override { return server_->url(); }
  void SetFaults(const Faults& f) override {
    std::lock_guard<std::mutex> l(mu_);
    faults_ = f;
    service_.SetStuck(f.stuck_lifecycle);
    service_.SetFailTasks(f.fail_tasks);
  }
  std::map<std::string, int> CallCounts() const override {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }
  size_t FileSystemCount() const override { return service_.FileSystemCount(); }

 private:
  http::HttpResponse Serve(const http::ServerRequest& r);
  http::HttpResponse Control(const http::ServerRequest& r);
  std::optional<Status> InjectedFault(const std::string& op);

  const FsxEmulatorOptions options_;
  Clock& clock_;
  const ModelValidator model_;
  FsxService service_;
  std::unique_ptr<http::HttpServer> server_;
  mutable std::mutex mu_;
  Faults faults_;                     // guarded by mu_
  std::map<std::string, int> calls_;  // guarded by mu_
  std::mt19937_64 rng_;               // guarded by mu_
};

std::optional<Status> Emulator::InjectedFault(const std::string& op) {
  std::chrono::milliseconds latency;
  std::optional<Status> fault;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++calls_[op];
    latency = faults_.latency;
    double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
    // AWS's wording for an explicit deny in an identity-based policy; FSx answers 400.
    if (faults_.denied_operations.count(op))
      fault = FsxError("AccessDeniedException", "User: arn:aws:sts::" + options_.account_id + ":assumed-role/ckpt-operator/"
                       "ckpt-operator is not authorized to perform: fsx:" + op + " with an explicit deny in an "
                       "identity-based policy");
    else if (roll < faults_.throttle_rate) fault = FsxError("ThrottlingException", "Rate exceeded");
    else if (roll < faults_.throttle_rate + faults_.error_rate)
      fault = FsxError("InternalServerError", "An internal error occurred (injected by the FSx emulator).");
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  return fault;
}

http::HttpResponse Emulator::Control(const http::ServerRequest& r) {
  if (r.path == "/_emulator/stats") {
    Json calls = CallCounts();
    return {200, {{"Content-Type", "application/json"}}, Json{{"calls", calls}, {"fileSystems", FileSystemCount()}}.dump()};
  }
  if (r.path == "/_emulator/faults" && r.method == "POST") {
    Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object()) return {400, {}, "faults: expected a JSON object"};
    Faults f{j.value("throttleRate", 0.0), j.value("errorRate", 0.0),
             std::chrono::milliseconds(j.value("latencyMs", 0)), j.value("stuckLifecycle", false),
             j.value("failTasks", false), {}};
    for (const auto& op : j.value("deniedOperations", Json::array()))
      if (op.is_string()) f.denied_operations.insert(op.get<std::string>());
    SetFaults(f);
    return {200, {}, "ok"};
  }
  return {404, {}, "unknown emulator control endpoint"};
}

http::HttpResponse Emulator::Serve(const http::ServerRequest& r) {
  if (r.path.starts_with("/_emulator/")) return Control(r);
  std::string target(r.Header("x-amz-target"));
  std::string op = target.starts_with(kTargetPrefix) ? target.substr(sizeof(kTargetPrefix) - 1) : "";
  if (auto fault = InjectedFault(op.empty() ? "<unknown>" : op)) return ErrorReply(*fault);
  Status auth = VerifySigV4(r, options_.access_keys, "fsx", clock_);
  if (!auth.ok()) return ErrorReply(auth);
  if (op.empty() || !model_.HasOperation(op))
    return ErrorReply(FsxError("UnknownOperationException", "Unknown operation " + target));
  Json request = Json::parse(r.body.empty() ? "{}" : r.body, nullptr, false);
  if (request.is_discarded())
    return ErrorReply(FsxError("SerializationException", "Request body is not valid JSON"));
  auto violations = model_.Validate(op, request);
  if (!violations.empty()) return ErrorReply(FsxError("BadRequest", ModelValidator::Summarize(violations)));
  auto result = service_.Handle(op, request);
  if (!result.ok()) return ErrorReply(result.status());
  return {200, {{"Content-Type", "application/x-amz-json-1.1"}}, result->dump()};
}

}  // namespace

std::string DefaultFsxModelPath() {
#ifdef CKPT_SOURCE_DIR
  return std::string(CKPT_SOURCE_DIR) + "/third_party/aws-models/fsx-2018-03-01.service-2.json";
#else
  return "third_party/aws-models/fsx-2018-03-01.service-2.json";
#endif
}

StatusOr<std::unique_ptr<FsxEmulator>> StartFsxEmulator(FsxEmulatorOptions options) {
  if (options.model_path.empty()) options.model_path = DefaultFsxModelPath();
  ASSIGN_OR_RETURN(ModelValidator model, ModelValidator::Load(options.model_path));
  auto e = std::make_unique<Emulator>(std::move(options), std::move(model));
  RETURN_IF_ERROR(e->Listen());
  return std::unique_ptr<FsxEmulator>(std::move(e));
}

}  // namespace ckpt::emulator
