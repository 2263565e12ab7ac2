// Reads an HTTP request written as text, the format of the SigV4 test-suite's .req files:
// "METHOD PATH HTTP/1.1", header lines (a line starting with a space or tab continues the
// previous header's value), a blank line, then the body. Shared by the SigV4 vector test and the
// SigV4 fuzz target, so it accepts any bytes without throwing: a malformed request line becomes
// method "GET" or path "/".
#pragma once

#include <sstream>
#include <string>

#include "ckpt/http/transport.h"

namespace ckpt::testing {

inline http::HttpRequest ParseRequestText(const std::string& text) {
  http::HttpRequest r;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  const size_t space = line.find(' ');
  r.method = line.substr(0, space);
  if (r.method.empty()) r.method = "GET";
  std::string path = "/";
  if (space != std::string::npos) {
    const size_t version = line.rfind(" HTTP/");
    path = line.substr(space + 1, version == std::string::npos || version <= space ? std::string::npos : version - space - 1);
  }
  std::string host;
  while (std::getline(in, line) && !line.empty()) {
    if ((line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
      r.headers.back().second += "\n" + line;
      continue;
    }
    const size_t colon = line.find(':');
    const std::string name = line.substr(0, colon), value = colon == std::string::npos ? "" : line.substr(colon + 1);
    r.headers.emplace_back(name, value);
    if (name == "Host") host = value;
  }
  std::string rest;
  for (bool first = true; std::getline(in, rest); first = false) r.body += (first ? "" : "\n") + rest;
  r.url = "https://" + host + path;
  return r;
}

}  // namespace ckpt::testing
