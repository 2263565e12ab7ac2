#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# etcd) from the pinned k8s.io/kubernetes Go module through the Go module proxy, and caches the binaries under
# .cache/envtest/<version>/bin so later runs take seconds. Kubernetes' own go.mod replaces every
# k8s.io/<staging> module with a local path, which a dependent module cannot see, so the wrapper
# module below re-points each of them at its published v0.<minor>.<patch> release. etcd's server
# is already in Kubernetes' module graph at the version Kubernetes tests against; a three-line
# main calls its etcdmain entry point. Prints the bin directory on stdout.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.33.13}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${CKPT_ENVTEST_CACHE:-$root/.cache/envtest}/k8s-v${K8S_VERSION}"
bin="$cache/bin"
tools=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd)

have_all() { for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || return 1; done; }
if have_all; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { echo "build-binaries: Go toolchain not found" >&2; exit 1; }
mod="$cache/module"
mkdir -p "$mod/etcd" "$bin"
staging_version="v0.${K8S_VERSION#1.}"

# Read Kubernetes' own replace block to learn the staging module names for this release.
k8s_mod="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
mapfile -t staging < <(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$k8s_mod")

{
  echo "module ckpt-operator.local/envtest"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes v${K8S_VERSION}"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
  echo ")"
} > "$mod/go.mod"
cat > "$mod/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO

cd "$mod"
echo "build-binaries: resolving k8s.io/kubernetes v${K8S_VERSION} (${#staging[@]} staging modules at ${staging_version})" >&2
# Pin by module version only: "go get <package>" would upgrade to the newest release.
etcd_version="$(sed -n 's#^\s*go.etcd.io/etcd/client/v3 \(v[0-9.]*\).*#\1#p' "$k8s_mod")"
GOFLAGS=-mod=mod go get "k8s.io/kubernetes@v${K8S_VERSION}" "go.etcd.io/etcd/server/v3@${etcd_version}" >&2
minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v${K8S_VERSION} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor}"
done
for t in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [[ -x "$bin/$t" ]] && continue  # a cache from before this tool was added keeps what it has
  echo "build-binaries: go build $t (first build takes several minutes)" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$t.tmp" "k8s.io/kubernetes/cmd/$t" >&2
  mv "$bin/$t.tmp" "$bin/$t"
done
if [[ ! -x "$bin/etcd" ]]; then
  echo "build-binaries: go build etcd" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" ./etcd >&2
  mv "$bin/etcd.tmp" "$bin/etcd"
fi
echo "$bin"
