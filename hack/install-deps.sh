#!/usr/bin/env bash
# Installs the Debian packages ckpt-operator builds and tests with. Idempotent: it asks dpkg what is
# missing and runs `apt-get update` + `apt-get install` only when something is, so a second run
# costs a fraction of a second. Needs root (or sudo) only when it has something to install.
#   install-deps.sh           everything: build, tests, benchmarks, the local control plane
#   install-deps.sh --build   only what building the ckpt-operator binary needs (the Dockerfile)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libcivetweb-dev libcli11-dev
)
build_only=0
[[ "${1:-}" == "--build" ]] && build_only=1
((build_only)) || packages+=(
  git openssl curl procps python3 python3-venv python3-yaml
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
((build_only)) || command -v go >/dev/null || { echo "install-deps: a Go toolchain (>= 1.24) is needed to build the test control plane; put it on PATH" >&2; exit 1; }
