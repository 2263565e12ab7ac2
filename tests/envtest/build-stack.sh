#!/usr/bin/env bash
# Builds the real training stack the TrainRun tests and the quickstart run beside the control
# plane: the Kubeflow Trainer controller-manager and the JobSet controller for one supported
# version pair, and kwok (simulated nodes and pods), each from its own Go module through the Go
# module proxy. Binaries are cached under .cache/envtest/training-stack/bin with the version in
# their file name, so a later run (or another pair) rebuilds nothing it already has, together with
# the webhook configurations each release ships. None of
# these modules has `replace` directives, so requiring the release builds exactly its module
# graph. Prints the bin directory on stdout.
#
#   build-stack.sh [--trainer v2.1.0|v2.3.0]     # default v2.3.0; JobSet follows the pair
set -euo pipefail

KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
trainer=v2.3.0
while (($#)); do
  case "$1" in
    --trainer) trainer="$2"; shift 2 ;;
    *) echo "build-stack: unknown flag $1" >&2; exit 2 ;;
  esac
done
case "$trainer" in
  v2.1.0) jobset=v0.10.1 ;;   # the JobSet release Trainer v2.1.0's go.mod requires
  v2.3.0) jobset=v0.12.0 ;;   # the JobSet release Trainer v2.3.0's go.mod requires
  *) echo "build-stack: unknown Trainer version $trainer (have v2.1.0, v2.3.0)" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${CKPT_ENVTEST_CACHE:-$root/.cache/envtest}/training-stack/bin"
mkdir -p "$bin"

build() {  # build NAME MODULE VERSION PACKAGE
  bash "$root/hack/go-build-module.sh" "$bin/$1" "$2" "$3" "$4"
}

build "trainer-controller-manager-$trainer" github.com/kubeflow/trainer/v2 "$trainer" \
  github.com/kubeflow/trainer/v2/cmd/trainer-controller-manager
build "jobset-controller-$jobset" sigs.k8s.io/jobset "$jobset" sigs.k8s.io/jobset
build "kwok-$KWOK_VERSION" sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok

# The webhook configurations each release ships (registered by URL at start-up), kept beside the
# binaries so the admission rules in force are exactly that release's.
webhooks() {  # webhooks NAME MODULE@VERSION PATH-IN-MODULE
  local out="$bin/$1"
  [[ -f "$out" ]] && return 0
  local dir; dir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$2" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  cp "$dir/$3" "$out.tmp" && mv "$out.tmp" "$out"
}
webhooks "trainer-webhooks-$trainer.yaml" "github.com/kubeflow/trainer/v2@$trainer" manifests/base/webhook/manifests.yaml
webhooks "jobset-webhooks-$jobset.yaml" "sigs.k8s.io/jobset@$jobset" config/components/webhook/manifests.yaml
echo "$bin"
