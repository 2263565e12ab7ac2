#!/usr/bin/env bash
# Keeps the README true: its "Set up on a fresh machine" section must hold exactly the two
# commands (quickstart, tests), .ci/run must call the test command, and the quickstart command
# is run here as written and must print the converged objects. Like a newcomer's first run it
# starts from an empty build directory and state directory (both thrown away afterwards); only the
# Debian packages and the cached control-plane binaries are already there.
# Usage: quickstart_test.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fail() { echo "FAIL: $*" >&2; exit 1; }

# The shell lines inside fenced blocks of the set-up section.
mapfile -t commands < <(awk '/^## Set up on a fresh machine/{s=1; next} /^## /{s=0} s && /^```/{f=!f; next} s && f' README.md)
((${#commands[@]} == 2)) || fail "README's set-up section has ${#commands[@]} commands, want 2: ${commands[*]}"
[[ "${commands[0]}" == "bash hack/quickstart.sh" ]] || fail "first set-up command is '${commands[0]}'"
[[ "${commands[1]}" == "bash hack/test.sh" ]] || fail "second set-up command is '${commands[1]}'"
grep -q "bash hack/test.sh" .ci/run || fail ".ci/run does not run the README's test command"
echo "README set-up commands: ${commands[*]}"

scratch="$(mktemp -d /tmp/ckpt-quickstart-XXXXXX)"
export QUICKSTART_DIR="$scratch/state" BUILD_DIR="$scratch/build"
trap 'bash hack/quickstart.sh down || true; rm -rf "$scratch"' EXIT
out="$(eval "${commands[0]}" 2>&1)" || { echo "$out"; cat "$QUICKSTART_DIR"/*.log >&2 || true; fail "the quickstart failed"; }
echo "$out" | tail -25
for want in "checkpointstore.trainops.io/workshop .*AVAILABLE .*True" "llama-finetune .*Running.* s3://training-ckpt-123456789012/checkpoints/runs/llama-finetune/" \
            "persistentvolumeclaim/workshop-ckpt .*Bound" "trainjob.trainer.kubeflow.org/llama-finetune" "Converged."; do
  echo "$out" | grep -Eq "$want" || fail "quickstart output lacks /$want/"
done
echo "PASS: the quickstart converged"
