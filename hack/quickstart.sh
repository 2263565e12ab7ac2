#!/usr/bin/env bash
# The local end-to-end quickstart: installs what is missing, builds, and starts a local control
# plane (etcd + kube-apiserver + kube-controller-manager) with ckpt-operator's and Kubeflow
# Trainer's CRDs under .cache/quickstart, then prints what is running and how to use it. It leaves
# the control plane running; `bash hack/quickstart.sh down` stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir="$root/.cache/quickstart"
step() { printf '\n==> [%s] %s\n' "$1" "$2" >&2; }

if [[ "${1:-}" == "down" ]]; then
  bash tests/envtest/control-plane.sh stop "$dir/control-plane"
  echo "quickstart stopped" >&2
  exit 0
fi

step 1/4 "Installing Debian packages (skipped when present)"
bash hack/install-deps.sh
step 2/4 "Building the control plane binaries (cached after the first run)"
bin="$(bash tests/envtest/build-binaries.sh)"
step 3/4 "Building ckpt-operator"
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)"
step 4/4 "Starting the local control plane and installing CRDs"
bash tests/envtest/control-plane.sh stop "$dir/control-plane" 2>/dev/null || true
rm -rf "$dir/control-plane"
bash tests/envtest/control-plane.sh start "$dir/control-plane" --trainer "${TRAINER_VERSION:-v2.3.0}"
kc=("$bin/kubectl" --kubeconfig "$dir/control-plane/kubeconfig")

printf '\n' >&2
"${kc[@]}" get crd
"${kc[@]}" get clustertrainingruntimes
cat >&2 <<EOT

The control plane is running. Try:
  export KUBECONFIG=$dir/control-plane/kubeconfig PATH=$bin:\$PATH
  kubectl get checkpointstores,trainruns,trainjobs -A
Logs: $dir/control-plane/*.log      Stop: bash hack/quickstart.sh down
EOT
