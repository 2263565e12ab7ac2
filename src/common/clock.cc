// System clock and RFC 3339 formatting/parsing (see include/ckpt/common/clock.h).
#include "ckpt/common/clock.h"

#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <string>

namespace ckpt {
namespace {

class RealClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime Monotonic() const override { return std::chrono::steady_clock::now(); }
};

std::string Format(Clock::WallTime t, bool micro) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (micro) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out + "Z";
}

}  // namespace

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

bool SleepFor(Clock& clock, std::chrono::nanoseconds d, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> l(mu);
  auto until = clock.Monotonic() + d;
  while (!stop.stop_requested() && clock.Monotonic() < until) {
    auto slice = std::min<std::chrono::nanoseconds>(until - clock.Monotonic(), clock.MaxWaitSlice());
    cv.wait_for(l, stop, slice, [] { return false; });  // only `stop` or the timeout end the wait
  }
  return !stop.stop_requested();
}

std::string FormatRfc3339(Clock::WallTime t) { return Format(t, false); }
std::string FormatRfc3339Micro(Clock::WallTime t) { return Format(t, true); }

bool ParseRfc3339(std::string_view s, Clock::WallTime& out) {
  std::tm tm{};
  std::string str(s);
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  auto rest = std::string_view(str).substr(static_cast<size_t>(consumed));
  std::chrono::microseconds frac{0};
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    long long scale = 100000, us = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      us += (rest.front() - '0') * scale;
      scale /= 10;
      rest.remove_prefix(1);
    }
    frac = std::chrono::microseconds(us);
  }
  int offset_min = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    offset_min = ((rest[1] - '0') * 10 + (rest[2] - '0')) * 60 + (rest[4] - '0') * 10 + (rest[5] - '0');
    if (rest[0] == '-') offset_min = -offset_min;
  } else {
    return false;
  }
  std::time_t tt = timegm(&tm);
  out = std::chrono::system_clock::from_time_t(tt) + frac - std::chrono::minutes(offset_min);
  return true;
}

}  // namespace ckpt
