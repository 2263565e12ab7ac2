// RestClient: KubeClient over an HttpTransport. Builds URLs and query strings, attaches the bearer
// token (re-reading a token file at most once a minute so rotated service-account tokens are
// picked up), maps non-2xx replies to Status, and streams watches through WatchDecoder.
#include <curl/curl.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

#include "ckpt/kube/api_error.h"
#include "ckpt/kube/client.h"
#include "ckpt/kube/watch_decoder.h"

namespace ckpt::kube {
namespace {

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
  explicit RestClient(const ClientConfig& c) : config_(c), transport_(http::NewCurlTransport(c.tls)) {}

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
  http::HttpRequest NewRequest(std::string method, const std::string& path, std::string body,
                               std::string_view content_type = "application/json");
  StatusOr<Json> Call(std::string method, const std::string& path, std::string body,
                      std::string_view content_type = "application/json");
  std::string Token();

  // Constant after construction.
  const ClientConfig config_;
  const http::HttpTransportPtr transport_;
  // State below is protected by token_mu_.
  std::mutex token_mu_;
  std::string file_token_;
  std::chrono::steady_clock::time_point token_read_at_{};
};

std::string RestClient::Token() {
  if (config_.token_file.empty()) return config_.bearer_token;
  std::lock_guard<std::mutex> l(token_mu_);
  auto now = std::chrono::steady_clock::now();
  // Projected service-account tokens rotate; client-go re-reads the file once a minute too.
  if (file_token_.empty() || now - token_read_at_ > std::chrono::minutes(1)) {
    std::ifstream in(config_.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (!t.empty()) file_token_ = t;
    token_read_at_ = now;
  }
  return file_token_.empty() ? config_.bearer_token : file_token_;
}

http::HttpRequest RestClient::NewRequest(std::string method, const std::string& path, std::string body,
                                         std::string_view content_type) {
  http::HttpRequest req;
  req.method = std::move(method);
  req.url = config_.server + path;
  req.body = std::move(body);
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("User-Agent", "ckpt-operator/0.1");
  if (!req.body.empty()) req.headers.emplace_back("Content-Type", std::string(content_type));
  std::string token = Token();
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  return req;
}

StatusOr<Json> RestClient::Call(std::string method, const std::string& path, std::string body,
                                std::string_view content_type) {
  http::HttpRequest req = NewRequest(method, path, std::move(body), content_type);
  auto resp = transport_->Send(req);
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
  http::HttpRequest req = NewRequest("GET", r.CollectionPath(ns) + q.str(), "");
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
  auto result = transport_->Stream(req, h);
  if (!result.ok()) return result.status();
  if (*result < 200 || *result >= 300) return StatusFromResponse({*result, {}, error_body});
  if (decode_status.code() == StatusCode::kCancelled) return Status::Ok();
  return decode_status;
}

}  // namespace

KubeClientPtr NewRestClient(const ClientConfig& config) { return std::make_unique<RestClient>(config); }

}  // namespace ckpt::kube
