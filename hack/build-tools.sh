#!/usr/bin/env bash
# Builds the release tools the packaging tests use, each from its pinned Go module through the Go
# module proxy, cached under .cache/tools/bin with the version in the file name (a later run, or
# a clean clone that keeps .cache, rebuilds nothing):
#   helm     helm.sh/helm/v3          chart lint, template, install and upgrade
#   promtool prometheus/prometheus    alert rule checks and unit tests
#   crane    go-containerregistry     OCI image assembly without a Docker daemon
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
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="-s -w ${5:-}" out="$bin/$1-$3"
  [[ -x "$out" ]] || {
    command -v go >/dev/null || { echo "build-tools: Go toolchain not found" >&2; exit 1; }
    echo "build-tools: go build $pkg from $module@$version (first build takes minutes)" >&2
    # A throw-away module requiring exactly the release (no version list is asked of the proxy).
    local mod; mod="$(mktemp -d)"
    printf 'module ckpt-operator.local/tools\n\ngo 1.24.0\n\nrequire %s %s\n' "$module" "$version" > "$mod/go.mod"
    (cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") >&2
    mv "$out.tmp" "$out"
    rm -rf "$mod"
  }
  ln -sf "$(basename "$out")" "$bin/$name"
}

build helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
build crane github.com/google/go-containerregistry "$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane
build promtool github.com/prometheus/prometheus "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool
echo "$bin"
