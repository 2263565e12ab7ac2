#!/usr/bin/env bash
# The container image's filesystem is complete: hack/image-rootfs.sh assembles it from the built
# binary (as the Dockerfile does), and the binary must run inside a chroot of it, where only what
# was copied exists. Prints the image size. Needs root, or unprivileged user namespaces.
#   image_rootfs_test.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d /tmp/ckpt-rootfs-XXXXXX)"
trap 'rm -rf "$out"' EXIT
bash "$root/hack/image-rootfs.sh" "$1/controller/ckpt-operator" "$out"
chroot_cmd=(chroot)
[[ $(id -u) -eq 0 ]] || chroot_cmd=(unshare -r chroot)
version="$("${chroot_cmd[@]}" "$out" /usr/local/bin/ckpt-operator --version)"
[[ "$version" == "ckpt-operator "* ]] || { echo "FAIL: --version printed '$version'"; exit 1; }
# A real start inside the image: it must get as far as reading its (absent) kubeconfig.
set +e
err="$("${chroot_cmd[@]}" "$out" /usr/local/bin/ckpt-operator --kubeconfig /missing --aws-region us-east-1 2>&1)"
rc=$?
set -e
[[ $rc -eq 1 && "$err" == *"cannot read /missing"* ]] || { echo "FAIL: rc=$rc: $err"; exit 1; }
[[ ! -e "$out/bin/sh" && ! -e "$out/usr/bin" ]] || { echo "FAIL: the image has more than the operator needs"; exit 1; }
echo "PASS: $version runs in its image filesystem: $(du -sh "$out" | cut -f1), $(find "$out" -name '*.so*' | wc -l) shared libraries"
