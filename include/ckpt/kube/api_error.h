// Maps an API server reply (HTTP status + `Status` JSON body) onto ckpt::Status, keeping the
// server's message, the reason, the field causes of Invalid errors and Retry-After.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "ckpt/common/status.h"
#include "ckpt/http/transport.h"

namespace ckpt::kube {

// REQUIRES: response.status is not 2xx.
Status StatusFromResponse(const http::HttpResponse& response);

// Maps a metav1.Status object (e.g. a watch ERROR event) with its `code` onto ckpt::Status.
Status StatusFromApiStatus(const nlohmann::json& status);

}  // namespace ckpt::kube
