#!/usr/bin/env python3
"""The OCI image the build writes (hack/build-image.sh, CMake target `image`) is what the
Dockerfile promises: one layer on an empty base, entrypoint the operator, user 65532, ports 8080
and 8081, no shell or package manager, and the binary inside runs: its layer is unpacked and the
operator started in a chroot of it. Checks the OCI layout and the tarball agree; prints the size.
Usage: image_oci_test.py BUILD_DIR VERSION"""
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile


def blob(layout, digest):
    algo, hexdigest = digest.split(":")
    path = os.path.join(layout, "blobs", algo, hexdigest)
    data = open(path, "rb").read()
    assert hashlib.sha256(data).hexdigest() == hexdigest, f"{path}: digest mismatch"
    return path, data


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main(build, version):
    out = os.path.join(build, "image")
    layout, tarball = os.path.join(out, "oci"), os.path.join(out, f"ckpt-operator-{version}.tar")
    check(os.path.isfile(tarball), f"{tarball} was not built")
    index = json.load(open(os.path.join(layout, "index.json")))
    check(len(index["manifests"]) == 1, "one image in the layout")
    _, manifest_bytes = blob(layout, index["manifests"][0]["digest"])
    manifest = json.loads(manifest_bytes)
    check(manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json", f"OCI manifest: {manifest['mediaType']}")
    _, config_bytes = blob(layout, manifest["config"]["digest"])
    config = json.loads(config_bytes)["config"]
    check(config.get("User") == "65532:65532", f"non-root user 65532: {config.get('User')}")
    check(config.get("Entrypoint") == ["/usr/local/bin/ckpt-operator"], f"entrypoint: {config.get('Entrypoint')}")
    check(not config.get("Cmd"), f"no shell command: {config.get('Cmd')}")
    check(set(config.get("ExposedPorts", {})) == {"8080/tcp", "8081/tcp"}, f"ports: {config.get('ExposedPorts')}")
    check(config.get("Labels", {}).get("org.opencontainers.image.version") == version, "version label")
    check(len(manifest["layers"]) == 1, f"one layer on an empty base: {len(manifest['layers'])}")
    layer_path, _ = blob(layout, manifest["layers"][0]["digest"])
    with tarfile.open(tarball) as t:  # the tarball holds the same layer
        check(any(hashlib.sha256(t.extractfile(m).read()).hexdigest() in layer_path
                  for m in t.getmembers() if m.isfile() and m.size == os.path.getsize(layer_path)),
              "the tarball carries the layout's layer")
    with tempfile.TemporaryDirectory() as rootfs:
        with tarfile.open(layer_path) as layer:
            names = layer.getnames()
            for shell in ("./bin/sh", "./bin/bash", "./usr/bin/apt", "./usr/bin/env"):
                check(shell not in names, f"{shell} in the image")
            layer.extractall(rootfs)
        chroot = ["chroot"] if os.geteuid() == 0 else ["unshare", "-r", "chroot"]
        ran = subprocess.run(chroot + [rootfs] + config["Entrypoint"] + ["--version"], capture_output=True, text=True)
        check(ran.returncode == 0 and ran.stdout.strip() == f"ckpt-operator {version}", f"--version in the image: {ran}")
    size = sum(l["size"] for l in manifest["layers"]) + manifest["config"]["size"]
    print(f"PASS: image {version}: {size / 1e6:.1f} MB compressed, {len(names)} files, user 65532, "
          f"entrypoint {config['Entrypoint'][0]}, runs: {ran.stdout.strip()}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
