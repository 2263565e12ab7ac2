#!/usr/bin/env bash
# Assembles the container image's whole filesystem for a dynamically linked ckpt-operator: the
# stripped binary, exactly the shared libraries it loads (from ldd, glibc's loader included), the
# CA bundle for HTTPS to AWS and the API server, and a passwd entry for the non-root user 65532.
# No shell, no package manager. The Dockerfile copies the result into an empty (scratch) image;
# tests/image_rootfs_test.sh runs the binary in a chroot of it to prove nothing is missing.
#   image-rootfs.sh BINARY OUT_DIR
set -euo pipefail
bin="$1" out="$2"
rm -rf "$out"
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out/tmp"
install -m 0755 "$bin" "$out/usr/local/bin/ckpt-operator"
strip --strip-unneeded "$out/usr/local/bin/ckpt-operator"
ldd "$bin" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}' | sort -u | while read -r lib; do
  cp -L --parents "$lib" "$out"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
echo "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin" > "$out/etc/passwd"
echo "nonroot:x:65532:" > "$out/etc/group"
chmod 1777 "$out/tmp"
