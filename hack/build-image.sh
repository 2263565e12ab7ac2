#!/usr/bin/env bash
# Builds ckpt-operator's OCI image without a Docker daemon: the filesystem hack/image-rootfs.sh
# assembles (the one tests/image_rootfs_test.sh runs the binary in) becomes the only layer, on an
# empty OCI base, with crane (go-containerregistry) talking to its own registry on loopback. The
# config runs the binary as user 65532 with no shell. Writes, under OUT_DIR:
#   ckpt-operator-<version>.tar   the image as a tarball (`docker load -i`, `crane push`)
#   oci/                          the same image as an OCI image layout
#   build-image.sh BINARY VERSION OUT_DIR [CRANE]
set -euo pipefail
bin="$1" version="$2" out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crane="${4:-$(bash "$root/hack/build-tools.sh")/crane}"
work="$(mktemp -d /tmp/ckpt-image-XXXXXX)"
cleanup() { [[ -n "${registry_pid:-}" ]] && kill "$registry_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

bash "$root/hack/image-rootfs.sh" "$bin" "$work/rootfs"
# Reproducible layer: sorted names, fixed times, root-owned files.
tar -C "$work/rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" .

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$crane" registry serve --address "127.0.0.1:$port" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
ref="127.0.0.1:$port/ckpt-operator:$version"
crane() { "$crane" "$@" 2>>"$work/crane.log" || { cat "$work/crane.log" >&2; return 1; }; }
crane append --insecure --oci-empty-base -f "$work/layer.tar" -t "$ref" >/dev/null
crane mutate --insecure "$ref" --entrypoint /usr/local/bin/ckpt-operator --user 65532:65532 \
  --exposed-ports 8080/tcp,8081/tcp --workdir / --set-platform "linux/$(go env GOARCH 2>/dev/null || echo amd64)" \
  -l "org.opencontainers.image.title=ckpt-operator" -l "org.opencontainers.image.version=$version" >/dev/null
mkdir -p "$out"
rm -rf "$out/oci" "$out/ckpt-operator-$version.tar"
crane pull --insecure --format oci "$ref" "$out/oci"
crane pull --insecure "$ref" "$out/ckpt-operator-$version.tar"
echo "image: $out/ckpt-operator-$version.tar ($(du -h "$out/ckpt-operator-$version.tar" | cut -f1)), OCI layout $out/oci" >&2
