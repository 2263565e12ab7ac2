#!/usr/bin/env bash
# Builds one Go package from a pinned module release through the Go module proxy into OUT, unless
# OUT already exists: a throw-away module requires exactly MODULE@VERSION (`go install pkg@version`
# would be shorter, but it asks the proxy for the module's version list, which the proxy refuses
# for some modules), then a static, stripped build. Used by tests/envtest/build-stack.sh and
# hack/build-tools.sh.
#   go-build-module.sh OUT MODULE VERSION PACKAGE [EXTRA_LDFLAGS]
set -euo pipefail
out="$1" module="$2" version="$3" pkg="$4" ldflags="-s -w ${5:-}"
[[ -x "$out" ]] && exit 0
command -v go >/dev/null || { echo "go-build-module: Go toolchain not found" >&2; exit 1; }
echo "go-build-module: go build $pkg from $module@$version (a first build takes minutes)" >&2
mod="$(mktemp -d)"
trap 'rm -rf "$mod"' EXIT
printf 'module ckpt-operator.local/build\n\ngo 1.24.0\n\nrequire %s %s\n' "$module" "$version" > "$mod/go.mod"
(cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") >&2
mv "$out.tmp" "$out"
