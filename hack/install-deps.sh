#!/usr/bin/env bash
# Installs the Debian packages ckpt-operator builds and tests with. Idempotent: it asks dpkg what is
# missing and runs `apt-get update` + `apt-get install` only when something is, so a second run
# costs a fraction of a second. Needs root (or sudo) only when it has something to install.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git openssl ca-certificates curl procps
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libcivetweb-dev libcli11-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3 python3-venv
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
command -v go >/dev/null || { echo "install-deps: a Go toolchain (>= 1.24) is needed to build the test control plane; put it on PATH" >&2; exit 1; }
