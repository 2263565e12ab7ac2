#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UBSan, coverage-instrumented
# libraries) in their own build directory and runs each for a bounded time, starting from the
# checked-in seed corpus (fuzz/corpus/<target>; new inputs go to a scratch copy, never into git).
# Prints one line per target: executions, edges covered, features, corpus size. Exits non-zero if
# any target crashed, leaked or timed out; the reproducer is kept in the scratch folder it names.
#   bash fuzz/run.sh                  # 20 s per target
#   bash fuzz/run.sh --seconds 300    # longer
# Environment: FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=20
[[ "${1:-}" == "--seconds" ]] && seconds="$2"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
cxx=clang++-14
command -v "$cxx" >/dev/null || { echo "fuzz: $cxx missing: run bash hack/install-deps.sh" >&2; exit 1; }

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPT_FUZZ=ON -DCKPT_SANITIZE=address,undefined \
  -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCH=OFF >/dev/null
targets=(kubeconfig watch_decoder fsx_response sigv4)
cmake --build "$build" --target "${targets[@]/%/_fuzzer}" >/dev/null

scratch="$(mktemp -d /tmp/ckpt-fuzz-XXXXXX)"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  if ! (cd "$scratch" && "$build/fuzz/${t}_fuzzer" "$scratch/$t" "$root/fuzz/corpus/$t" -max_total_time="$seconds" \
          -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 -artifact_prefix="$scratch/$t-") >"$log" 2>&1; then
    failed=1
    echo "[fuzz] $t: FAILED (reproducer and log under $scratch)" >&2
    grep -E "ERROR|SUMMARY|artifact" "$log" | head -5 >&2
    continue
  fi
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  echo "[fuzz] $t: executions=$execs edges_covered=$cov features=$ft corpus=$corp seconds=$seconds"
done
((failed)) || rm -rf "$scratch"
exit "$failed"
