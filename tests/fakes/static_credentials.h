// StaticCredentials: a CredentialsProvider that always returns one fixed key pair (by default the
// SigV4 suite's AKIDEXAMPLE, which the FSx emulator accepts).
#pragma once

#include <string>

#include "ckpt/aws/credentials.h"

namespace ckpt::testing {

class StaticCredentials : public aws::CredentialsProvider {
 public:
  StaticCredentials() : c_{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", std::nullopt} {}
  explicit StaticCredentials(aws::Credentials c) : c_(std::move(c)) {}
  StatusOr<aws::Credentials> Get() override { return c_; }
  std::string source() const override { return "static"; }

 private:
  aws::Credentials c_;
};

}  // namespace ckpt::testing
