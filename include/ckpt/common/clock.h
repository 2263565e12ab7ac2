// Clock: the only source of time for ckpt-operator code. Reconcilers, the work queue, leader
// election and credential caches take a Clock& so that tests can use FakeClock and move time by
// hand. Wall time (Now) is for timestamps written to the API; Monotonic is for deadlines.
#pragma once

#include <chrono>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

namespace ckpt {

class Clock {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  using MonoTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual WallTime Now() const = 0;
  virtual MonoTime Monotonic() const = 0;
  // Longest a waiter may sleep before re-reading this clock. Real clocks never need to re-read;
  // a fake clock returns a few milliseconds so waiters notice Advance().
  virtual std::chrono::milliseconds MaxWaitSlice() const { return std::chrono::hours(1); }
};

// The process's real clock. Thread-safe.
Clock& SystemClock();

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime(std::chrono::seconds(1'700'000'000))) : wall_(start) {}
  WallTime Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return wall_;
  }
  MonoTime Monotonic() const override {
    std::lock_guard<std::mutex> l(mu_);
    return mono_;
  }
  std::chrono::milliseconds MaxWaitSlice() const override { return std::chrono::milliseconds(2); }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> l(mu_);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    mono_ += d;
  }

 private:
  mutable std::mutex mu_;
  WallTime wall_;
  MonoTime mono_{};
};

// Sleeps for `d` as measured by `clock`, waking early when `stop` is requested.
// Returns false when it woke because of `stop`.
bool SleepFor(Clock& clock, std::chrono::nanoseconds d, std::stop_token stop);

// RFC 3339 UTC with seconds ("2026-11-22T19:04:05Z"), as Kubernetes writes metav1.Time.
std::string FormatRfc3339(Clock::WallTime t);
// RFC 3339 with microseconds ("...05.123456Z"), as metav1.MicroTime (Leases, Events).
std::string FormatRfc3339Micro(Clock::WallTime t);
// Parses RFC 3339 (with or without fraction, 'Z' or numeric offset); false on bad input.
bool ParseRfc3339(std::string_view s, Clock::WallTime& out);

}  // namespace ckpt
