// libcurl implementation of HttpTransport. Easy handles are pooled and reused so that keep-alive
// connections (and TLS sessions) survive across requests; a curl "share" object lets pooled
// handles share DNS and TLS session caches. Streaming uses curl's write callback directly, so a
// watch stream is never buffered whole, and an idle limit ends a stream that goes silent.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "ckpt/http/transport.h"
#include "ckpt/common/encoding.h"

namespace ckpt::http {
namespace {

using Clock = std::chrono::steady_clock;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// Per-transfer state reachable from curl's C callbacks.
struct Transfer {
  const StreamHandler* stream = nullptr;  // null: buffer into response.body
  HttpResponse response;
  bool headers_delivered = false;
  bool stopped_by_handler = false;
  Clock::time_point last_byte = Clock::now();
  std::chrono::milliseconds idle_limit{0};
  bool idle_expired = false;
  bool cancelled = false;

  void DeliverHeaders(CURL* curl) {
    if (headers_delivered) return;
    headers_delivered = true;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    response.status = static_cast<int>(code);
    if (stream && stream->on_headers) stream->on_headers(response.status, response.headers);
  }
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) t->response.headers.clear();  // a new response (e.g. after 100)
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    t->response.headers.emplace_back(AsciiLower(line.substr(0, colon)), std::string(value));
  }
  return size * n;
}

struct CallbackContext {
  Transfer* transfer;
  CURL* curl;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<CallbackContext*>(user);
  Transfer* t = ctx->transfer;
  t->last_byte = Clock::now();
  t->DeliverHeaders(ctx->curl);
  if (!t->stream) {
    t->response.body.append(data, size * n);
    return size * n;
  }
  if (!t->stream->on_data(std::string_view(data, size * n))) {
    t->stopped_by_handler = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  return size * n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->stream && t->stream->cancelled && t->stream->cancelled()) {
    t->cancelled = true;
    return 1;  // abort
  }
  if (t->idle_limit.count() > 0 && Clock::now() - t->last_byte > t->idle_limit) {
    t->idle_expired = true;
    return 1;  // abort
  }
  return 0;
}

Status MapCurlError(CURLcode rc, const char* detail, const std::string& url) {
  std::string msg = std::string(curl_easy_strerror(rc));
  if (detail && *detail) msg += std::string(" (") + detail + ")";
  msg += " for " + url;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return {StatusCode::kTimeout, msg};
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return {StatusCode::kInvalidArgument, msg};
    default: return {StatusCode::kUnavailable, msg};
  }
}

// Sets the request's method, URL, body, timeouts and callbacks on `h`; returns the header list
// the caller frees after the transfer.
curl_slist* Configure(CURL* h, const HttpRequest& request, Transfer& t, CallbackContext& ctx, char* error) {
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  if (t.stream) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  } else {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  }
  return headers;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(TlsOptions tls) : tls_(std::move(tls)) {
    static CurlGlobal global;
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
  }

  ~CurlTransport() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
    curl_share_cleanup(share_);
  }

  StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    Transfer t;
    Status s = Perform(request, t);
    if (!s.ok()) return s;
    return std::move(t.response);
  }

  StatusOr<int> Stream(const HttpRequest& request, const StreamHandler& handler) override {
    Transfer t;
    t.stream = &handler;
    t.idle_limit = request.timeout;
    Status s = Perform(request, t);
    if (!s.ok()) return s;
    return t.response.status;
  }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlTransport*>(user)->share_mu_[data % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlTransport*>(user)->share_mu_[data % kLocks].unlock();
  }

  CURL* Acquire() {
    std::lock_guard<std::mutex> l(pool_mu_);
    if (idle_.empty()) return curl_easy_init();
    CURL* h = idle_.back();
    idle_.pop_back();
    return h;
  }
  void Release(CURL* h) {
    curl_easy_reset(h);  // keeps the handle's live connections and caches
    std::lock_guard<std::mutex> l(pool_mu_);
    idle_.push_back(h);
  }

  void ApplyTls(CURL* h) const {
    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    auto blob = [&](CURLoption opt, const std::string& pem) {
      curl_blob b{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(h, opt, &b);
    };
    if (!tls_.ca_pem.empty()) blob(CURLOPT_CAINFO_BLOB, tls_.ca_pem);
    else if (!tls_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (!tls_.client_cert_pem.empty()) blob(CURLOPT_SSLCERT_BLOB, tls_.client_cert_pem);
    else if (!tls_.client_cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, tls_.client_cert_file.c_str());
    if (!tls_.client_key_pem.empty()) blob(CURLOPT_SSLKEY_BLOB, tls_.client_key_pem);
    else if (!tls_.client_key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, tls_.client_key_file.c_str());
    if (tls_.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }

  Status Perform(const HttpRequest& request, Transfer& t);

  static constexpr int kLocks = 8;
  // Constant after construction.
  const TlsOptions tls_;
  CURLSH* share_ = nullptr;
  std::mutex share_mu_[kLocks];
  // State below is protected by pool_mu_.
  std::mutex pool_mu_;
  std::vector<CURL*> idle_;
};

Status CurlTransport::Perform(const HttpRequest& request, Transfer& t) {
  CURL* h = Acquire();
  char error[CURL_ERROR_SIZE] = {0};
  CallbackContext ctx{&t, h};
  ApplyTls(h);
  curl_slist* headers = Configure(h, request, t, ctx, error);
  CURLcode rc = curl_easy_perform(h);
  t.DeliverHeaders(h);
  curl_slist_free_all(headers);
  Status result;
  if (t.cancelled) {
    result = Status(StatusCode::kCancelled, "stream cancelled: " + request.url);
  } else if (t.idle_expired) {
    result = Status(StatusCode::kTimeout, "stream idle for " + std::to_string(t.idle_limit.count()) + "ms: " + request.url);
  } else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.stopped_by_handler)) {
    result = MapCurlError(rc, error, request.url);
  }
  Release(h);
  return result;
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

HttpTransportPtr NewCurlTransport(TlsOptions tls) { return std::make_unique<CurlTransport>(std::move(tls)); }

}  // namespace ckpt::http
