#!/usr/bin/env bash
# The alert rules pass `promtool check rules` (syntax, templates) and their unit tests
# (tests/prometheus/alerts_test.yaml: a firing and a silent case per alert). promtool is built
# from its Go module and cached by hack/build-tools.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
promtool="$(bash "$root/hack/build-tools.sh")/promtool"
"$promtool" check rules "$root/deploy/helm/ckpt-operator/files/alerts.yaml"
cd "$root/tests/prometheus"
"$promtool" test rules alerts_test.yaml
