// ScriptedTransport: an HttpTransport for unit tests that records each request and answers from
// a queue of canned responses (kube-rs ApiServerVerifier style). Stream() feeds the canned body
// to the handler in small chunks. Not thread-safe: one test thread drives it.
#pragma once

#include <deque>
#include <vector>

#include "ckpt/http/transport.h"

namespace ckpt::testing {

class ScriptedTransport : public http::HttpTransport {
 public:
  struct Shared {
    std::vector<http::HttpRequest> requests;
    std::deque<http::HttpResponse> responses;
  };
  explicit ScriptedTransport(Shared& shared) : s_(shared) {}

  StatusOr<http::HttpResponse> Send(const http::HttpRequest& r) override {
    s_.requests.push_back(r);
    if (s_.responses.empty()) return Unavailable("no scripted response for " + r.url);
    auto resp = s_.responses.front();
    s_.responses.pop_front();
    return resp;
  }

  StatusOr<int> Stream(const http::HttpRequest& r, const http::StreamHandler& h) override {
    ASSIGN_OR_RETURN(http::HttpResponse resp, Send(r));
    if (h.on_headers) h.on_headers(resp.status, resp.headers);
    for (size_t pos = 0; pos < resp.body.size(); pos += 7)
      if (!h.on_data(std::string_view(resp.body).substr(pos, 7))) break;
    return resp.status;
  }

 private:
  Shared& s_;
};

}  // namespace ckpt::testing
