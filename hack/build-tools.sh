#!/usr/bin/env bash
# Builds the release tools the packaging tests use, each from its pinned Go module through the Go
# module proxy, cached under .cache/tools/bin with the version in the file name (a later run, or
# a clean clone that keeps .cache, rebuilds nothing):
#   helm     helm.sh/helm/v3          chart lint, template, install and upgrade
#   promtool prometheus/prometheus    alert rule checks and unit tests
#   crane    go-containerregistry     OCI image assembly without a Docker daemon
#   kstatus-judge  tests/kstatus (our own program on sigs.k8s.io/cli-utils' kstatus library):
#                  what Flux, kpt and kubectl-wait tooling make of our objects' status
# Prints the bin directory on stdout. Helm stays on v3: the charts of the peers a platform team
# runs beside this operator (FSx CSI driver, JobSet, Kubeflow Trainer) target it, and the chart's
# apiVersion v2 installs on Helm 4 as well.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CKPT_TOOLS_CACHE:-$root/.cache/tools}/bin"
mkdir -p "$bin"

build() {  # build NAME MODULE VERSION PACKAGE [LDFLAGS]
  bash "$root/hack/go-build-module.sh" "$bin/$1-$3" "$2" "$3" "$4" "${5:-}"
  ln -sf "$1-$3" "$bin/$1"
}

build helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
build crane github.com/google/go-containerregistry "$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane
build promtool github.com/prometheus/prometheus "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool
# Keyed by the library's version (go.mod) and our program's text, so an edit of either rebuilds it.
kstatus_key="$(cat "$root/tests/kstatus/go.mod" "$root/tests/kstatus/main.go" | sha256sum | cut -c1-12)"
if [[ ! -x "$bin/kstatus-judge-$kstatus_key" ]]; then
  echo "build-tools: go build tests/kstatus (sigs.k8s.io/cli-utils kstatus)" >&2
  (cd "$root/tests/kstatus" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
     -o "$bin/kstatus-judge-$kstatus_key.tmp" .) >&2
  mv "$bin/kstatus-judge-$kstatus_key.tmp" "$bin/kstatus-judge-$kstatus_key"
fi
ln -sf "kstatus-judge-$kstatus_key" "$bin/kstatus-judge"
echo "$bin"
