#!/usr/bin/env bash
# The one command that builds and runs every ckpt-operator test on a fresh machine:
# installs Debian packages, builds (or reuses the cached) test control plane and training stack
# (Kubeflow Trainer, JobSet, kwok) and release tools (helm, promtool, crane), configures and
# builds with warnings as errors (the OCI image included), then runs unit and integration tests
# through CTest.
#   bash hack/test.sh                 # everything
#   bash hack/test.sh -L unit         # extra arguments go to ctest (e.g. -L integration, -R name)
# Environment: BUILD_DIR (default build), CKPT_SANITIZE (e.g. address,undefined), JOBS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"

step() { printf '\n==> %s\n' "$*" >&2; }

step "Installing Debian packages (skipped when present)"
bash hack/install-deps.sh

step "Test control plane and training stack binaries (cached under .cache/envtest)"
t0=$SECONDS
bash tests/envtest/build-binaries.sh >/dev/null
for trainer in v2.1.0 v2.3.0; do bash tests/envtest/build-stack.sh --trainer "$trainer" >/dev/null; done
echo "control plane and training stack binaries ready in $((SECONDS - t0))s" >&2

step "Release tools: helm, promtool, crane (cached under .cache/tools)"
t0=$SECONDS
bash hack/build-tools.sh >/dev/null
echo "release tools ready in $((SECONDS - t0))s" >&2

step "moto server for the FSx client cross-check (cached under .cache)"
export CKPT_MOTO_SERVER="$(bash hack/install-moto.sh)"

step "Configuring and building ($build)"
cmake -S . -B "$build" -G Ninja -DCKPT_WERROR=ON -DCKPT_SANITIZE="${CKPT_SANITIZE:-}" >/dev/null
cmake --build "$build" -j "$jobs"

step "Running tests"
cd "$build"
ctest --output-on-failure -j "$jobs" "$@"
