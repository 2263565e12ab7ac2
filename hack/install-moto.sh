#!/usr/bin/env bash
# Installs moto's server (a third-party AWS emulator from PyPI) into a cached virtualenv so the
# FSx client's tests also run against it, not only against our own emulator. Idempotent; prints
# the path of the moto_server executable.
set -euo pipefail
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.cache/moto-$MOTO_VERSION"
if [[ ! -x "$venv/bin/moto_server" ]]; then
  echo "install-moto: installing moto[server]==$MOTO_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
echo "$venv/bin/moto_server"
