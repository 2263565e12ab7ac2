// RestClient: KubeClient over an HttpTransport. Builds URLs and query strings, waits for the
// client-side rate limiter, attaches the bearer token from its TokenSource (retrying once with a
// fresh token after a 401), maps non-2xx replies to Status, reports each request to the
// config's observer, and streams watches through WatchDecoder.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "ckpt/common/token_bucket.h"
#include "ckpt/kube/api_error.h"
#include "ckpt/kube/client.h"
#include "ckpt/kube/token_source.h"
#include "ckpt/kube/watch_decoder.h"

namespace ckpt::kube {
namespace {

thread_local std::optional<Clock::MonoTime> request_deadline;

std::string UrlEscape(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out(e);
  curl_free(e);
  return out;
}

class Query {
 public:
  Query& Add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    q_ += q_.empty() ? '?' : '&';
    q_ += key;
    q_ += '=';
    q_ += UrlEscape(value);
    return *this;
  }
  const std::string& str() const { return q_; }

 private:
  std::string q_;
};

std::string_view ContentType(PatchType t) {
  switch (t) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "application/json";
}

class RestClient final : public KubeClient {
 public:
  RestClient(const ClientConfig& c, http::HttpTransportPtr transport, Clock& clock)
      : config_(c),
        transport_(std::move(transport)),
        tokens_(NewTokenSource(c, clock)),
        limiter_(c.qps, c.burst, clock),
        clock_(clock) {}

  StatusOr<Json> Get(const Resource& r, std::string_view ns, std::string_view name) override {
    return Call("GET", r.ObjectPath(ns, name), "");
  }

  StatusOr<Json> List(const Resource& r, std::string_view ns, const ListOptions& o) override {
    Query q;
    q.Add("labelSelector", o.label_selector).Add("fieldSelector", o.field_selector);
    if (o.limit > 0) q.Add("limit", std::to_string(o.limit));
    q.Add("continue", o.continue_token).Add("resourceVersion", o.resource_version);
    q.Add("resourceVersionMatch", o.resource_version_match);
    return Call("GET", r.CollectionPath(ns) + q.str(), "");
  }

  StatusOr<Json> Create(const Resource& r, std::string_view ns, const Json& obj) override {
    return Call("POST", r.CollectionPath(ns), obj.dump());
  }

  StatusOr<Json> Update(const Resource& r, const Json& obj, std::string_view subresource) override {
    const Json& md = obj.value("metadata", Json::object());
    return Call("PUT", r.ObjectPath(md.value("namespace", ""), md.value("name", ""), subresource), obj.dump());
  }

  StatusOr<Json> Patch(const Resource& r, std::string_view ns, std::string_view name, const PatchOptions& o,
                       std::string_view body) override {
    Query q;
    q.Add("fieldManager", o.field_manager);
    if (o.type == PatchType::kApply && o.force) q.Add("force", "true");
    return Call("PATCH", r.ObjectPath(ns, name, o.subresource) + q.str(), std::string(body), ContentType(o.type));
  }

  Status Delete(const Resource& r, std::string_view ns, std::string_view name, const DeleteOptions& o) override {
    Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
    if (!o.precondition_uid.empty()) body["preconditions"]["uid"] = o.precondition_uid;
    if (!o.precondition_resource_version.empty())
      body["preconditions"]["resourceVersion"] = o.precondition_resource_version;
    return Call("DELETE", r.ObjectPath(ns, name), body.dump()).status();
  }

  Status Watch(const Resource& r, std::string_view ns, const WatchOptions& o, const WatchCallback& cb) override;

  StatusOr<Json> Discover(std::string_view gv) override {
    return Call("GET", gv.find('/') == std::string_view::npos ? "/api/" + std::string(gv) : "/apis/" + std::string(gv), "");
  }

 private:
  StatusOr<http::HttpRequest> NewRequest(std::string method, const std::string& path, std::string body,
                                         std::string_view content_type = "application/json");
  StatusOr<Json> Call(std::string method, const std::string& path, std::string body,
                      std::string_view content_type = "application/json");
  StatusOr<http::HttpResponse> SendOnce(const http::HttpRequest& req);

  // Constant after construction; all members are thread-safe.
  const ClientConfig config_;
  const http::HttpTransportPtr transport_;
  const TokenSourcePtr tokens_;
  TokenBucket limiter_;
  Clock& clock_;
};

StatusOr<http::HttpRequest> RestClient::NewRequest(std::string method, const std::string& path, std::string body,
                                                   std::string_view content_type) {
  http::HttpRequest req;
  req.method = std::move(method);
  req.url = config_.server + path;
  req.body = std::move(body);
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("User-Agent", "ckpt-operator/0.1");
  if (request_deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*request_deadline - clock_.Monotonic());  // ends at or after it
    if (left.count() <= 0) return Status(StatusCode::kTimeout, req.method + " " + path + ": the caller's deadline has passed");
    req.timeout = std::min(req.timeout, left);
  }
  if (!req.body.empty()) req.headers.emplace_back("Content-Type", std::string(content_type));
  ASSIGN_OR_RETURN(std::string token, tokens_->Token());
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  return req;
}

StatusOr<http::HttpResponse> RestClient::SendOnce(const http::HttpRequest& req) {
  limiter_.Acquire();
  auto start = clock_.Monotonic();
  std::optional<http::HttpRequest> bounded;  // the caller's deadline, again after the limiter's wait
  if (request_deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*request_deadline - start);
    if (left.count() <= 0)
      return Status(StatusCode::kTimeout, req.method + " " + req.url + ": the caller's deadline passed while waiting "
                                          "for the client-side rate limit");
    if (left < req.timeout) {
      bounded = req;
      bounded->timeout = left;
    }
  }
  auto resp = transport_->Send(bounded ? *bounded : req);
  if (config_.on_request)
    config_.on_request(req.method, resp.ok() ? resp->status : 0,
                       std::chrono::duration<double>(clock_.Monotonic() - start).count());
  return resp;
}

StatusOr<Json> RestClient::Call(std::string method, const std::string& path, std::string body,
                                std::string_view content_type) {
  ASSIGN_OR_RETURN(http::HttpRequest req, NewRequest(method, path, std::move(body), content_type));
  auto resp = SendOnce(req);
  if (resp.ok() && resp->status == 401) {  // the credential expired or was rotated: once more, fresh
    tokens_->Invalidate();
    ASSIGN_OR_RETURN(req, NewRequest(method, path, std::move(req.body), content_type));
    resp = SendOnce(req);
  }
  if (!resp.ok()) return resp.status();
  if (resp->status < 200 || resp->status >= 300) return StatusFromResponse(*resp);
  Json j = Json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Internal(method + " " + path + ": response is not JSON");
  return j;
}

Status RestClient::Watch(const Resource& r, std::string_view ns, const WatchOptions& o, const WatchCallback& cb) {
  Query q;
  q.Add("watch", "1").Add("resourceVersion", o.resource_version);
  q.Add("labelSelector", o.label_selector).Add("fieldSelector", o.field_selector);
  if (o.allow_bookmarks) q.Add("allowWatchBookmarks", "true");
  q.Add("timeoutSeconds", std::to_string(o.timeout_seconds));
  ASSIGN_OR_RETURN(http::HttpRequest req, NewRequest("GET", r.CollectionPath(ns) + q.str(), ""));
  limiter_.Acquire();
  // Idle limit: the server ends the stream after timeoutSeconds; 5 s of grace beyond that.
  req.timeout = std::chrono::seconds(o.timeout_seconds + 5);

  WatchDecoder decoder;
  Status decode_status;
  std::string error_body;
  int http_status = 0;
  http::StreamHandler h;
  h.on_headers = [&](int code, const http::Headers&) { http_status = code; };
  h.on_data = [&](std::string_view chunk) {
    if (http_status < 200 || http_status >= 300) {
      error_body.append(chunk.substr(0, 64 * 1024 - std::min<size_t>(error_body.size(), 64 * 1024)));
      return true;
    }
    decode_status = decoder.Feed(chunk, cb);
    return decode_status.ok();
  };
  h.cancelled = [&] { return o.stop.stop_requested(); };
  const auto start = clock_.Monotonic();
  auto result = transport_->Stream(req, h);
  if (config_.on_request)  // counted like client-go: a watch is a request too (failed ones included)
    config_.on_request("WATCH", http_status, std::chrono::duration<double>(clock_.Monotonic() - start).count());
  if (!result.ok()) return result.status();
  if (*result == 401) tokens_->Invalidate();
  if (*result < 200 || *result >= 300) return StatusFromResponse({*result, {}, error_body});
  if (decode_status.code() == StatusCode::kCancelled) return Status::Ok();
  return decode_status;
}

}  // namespace

ScopedRequestDeadline::ScopedRequestDeadline(Clock::MonoTime deadline) : previous_(request_deadline) {
  if (!request_deadline || deadline < *request_deadline) request_deadline = deadline;
}

ScopedRequestDeadline::~ScopedRequestDeadline() { request_deadline = previous_; }

std::optional<Clock::MonoTime> ScopedRequestDeadline::Current() { return request_deadline; }


KubeClientPtr NewRestClient(const ClientConfig& config, Clock& clock) {
  return std::make_unique<RestClient>(config, http::NewCurlTransport(config.tls), clock);
}

KubeClientPtr NewRestClient(const ClientConfig& config, http::HttpTransportPtr transport, Clock& clock) {
  return std::make_unique<RestClient>(config, std::move(transport), clock);
}

}  // namespace ckpt::kube
