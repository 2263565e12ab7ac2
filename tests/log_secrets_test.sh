#!/usr/bin/env bash
# No secret in any log the test suite wrote. Reads every log the integration binaries kept
# ($1/test-logs: control-plane components, the daemons they started) and CTest's own record of all
# test output ($1/Testing/Temporary/LastTest.log), and looks for:
#   - the credentials the control planes issued (listed in test-logs/known-secrets) and the FSx
#     emulator's secret access key;
#   - bearer tokens and JSON Web Tokens (ServiceAccount tokens);
#   - AWS session tokens (X-Amz-Security-Token, SessionToken);
#   - SigV4 signatures (Signature=<64 hex>, X-Amz-Signature).
# Prints what it scanned and, for a finding, the file and pattern (never the secret itself).
set -euo pipefail
build="${1:?usage: log_secrets_test.sh BUILD_DIR}"
logs=()
[[ -d "$build/test-logs" ]] && while IFS= read -r -d '' f; do logs+=("$f"); done < <(find "$build/test-logs" -name '*.log' -print0)
for f in "$build"/Testing/Temporary/LastTest*.log; do [[ -f "$f" ]] && logs+=("$f"); done
((${#logs[@]})) || { echo "FAIL: no logs to scan under $build"; exit 1; }

patterns=(
  'wJalrXUtnFEMI/K7MDENG\+bPxRfiCYEXAMPLEKEY'
  '[Bb]earer [A-Za-z0-9._~+/-]{16,}'
  'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.'
  '(X-Amz-Security-Token|x-amz-security-token|SessionToken|session_token)["'"'"':= ]+[A-Za-z0-9/+=]{16,}'
  'Signature=[0-9a-f]{64}'
  'X-Amz-Signature'
)
findings=0
for p in "${patterns[@]}"; do
  if hits=$(grep -lE -- "$p" "${logs[@]}" 2>/dev/null); then
    echo "FINDING: /$p/ in: $hits"
    findings=$((findings + 1))
  fi
done
known=0
if [[ -f "$build/test-logs/known-secrets" ]]; then
  while IFS= read -r secret; do
    [[ ${#secret} -ge 16 ]] || continue
    known=$((known + 1))
    if hits=$(grep -lF -- "$secret" "${logs[@]}" 2>/dev/null); then
      echo "FINDING: an issued token (${secret:0:4}...) in: $hits"
      findings=$((findings + 1))
    fi
  done < <(sort -u "$build/test-logs/known-secrets")
fi
bytes=$(cat "${logs[@]}" | wc -c)
echo "[secrets] scanned ${#logs[@]} logs ($((bytes / 1024)) KiB) for ${#patterns[@]} patterns and $known issued tokens: $findings findings"
((findings == 0))
