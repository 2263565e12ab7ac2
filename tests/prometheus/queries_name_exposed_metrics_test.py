#!/usr/bin/env python3
"""Every query in the Grafana dashboard and every alert expression names only metrics the
operator exposes: the metric table in docs/metrics.md, which operator_e2e_test checks against the
real binary's /metrics. A histogram's _bucket/_sum/_count series count as the histogram.
Usage: queries_name_exposed_metrics_test.py REPO_ROOT"""
import json
import re
import sys

import yaml

PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "rate", "irate", "increase", "histogram_quantile", "vector", "absent", "le",
    "offset", "bool", "topk", "bottomk", "clamp_min", "clamp_max", "delta", "deriv", "time",
}


def metric_names(expr):
    expr = re.sub(r'"[^"]*"', '""', expr)           # label values
    expr = re.sub(r"\{[^}]*\}", "{}", expr)         # label matchers
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\[[^\]]*\]", "", expr)          # ranges
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr)) - PROMQL_WORDS
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names if not re.fullmatch(r"\d.*|e\d*", n)}


def main(root):
    documented = set(re.findall(r"\n\| `([a-z_]+)` \|", open(f"{root}/docs/metrics.md").read()))
    files = f"{root}/deploy/helm/ckpt-operator/files"
    queries = [(p["title"], t["expr"]) for p in json.load(open(f"{files}/dashboard.json"))["panels"] for t in p["targets"]]
    for group in yaml.safe_load(open(f"{files}/alerts.yaml"))["groups"]:
        queries += [(r["alert"], r["expr"]) for r in group["rules"]]
    failures = []
    for where, expr in queries:
        names = metric_names(expr)
        if not names:
            failures.append(f"{where}: names no metric: {expr}")
        failures += [f"{where}: {n} is not in docs/metrics.md" for n in sorted(names - documented)]
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print(f"PASS: {len(queries)} queries (dashboard panels and alerts) name only the {len(documented)} documented metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
