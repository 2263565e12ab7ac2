#!/usr/bin/env python3
"""Writes the values table of deploy/helm/ckpt-operator/README.md from values.yaml, helm-docs
style: each key documented by the `# -- text` comment above it, with its type and default as YAML
gives them. The table sits between the `<!-- values -->` markers of the README.
Usage: helm-values-doc.py [--check]   (--check: exit 1 if the README is not current)"""
import json
import os
import re
import sys

import yaml

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "helm", "ckpt-operator")
BEGIN, END = "<!-- values -->", "<!-- /values -->"


def documented_keys(lines):
    """(dotted key, description) for every key with a `# --` comment, in file order."""
    path, pending, out = [], None, []
    for line in lines:
        comment = re.match(r"\s*# -- (.*)", line)
        key = re.match(r"(\s*)([A-Za-z][\w.-]*):", line)
        if comment:
            pending = comment.group(1)
        elif key:
            depth = len(key.group(1)) // 2
            path = path[:depth] + [key.group(2)]
            if pending:
                out.append((".".join(path), pending))
            pending = None
    return out


def lookup(values, dotted):
    for part in dotted.split("."):
        values = values[part]
    return values


def type_of(v):
    return {bool: "bool", int: "int", str: "string", list: "list", dict: "object"}.get(type(v), "string")


def table():
    text = open(os.path.join(CHART, "values.yaml")).read()
    values = yaml.safe_load(text)
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, desc in documented_keys(text.splitlines()):
        default = json.dumps(lookup(values, key)).replace("|", "\\|")
        desc = desc.replace("|", "\\|")
        rows.append(f"| `{key}` | {type_of(lookup(values, key))} | `{default}` | {desc} |")
    return "\n".join(rows)


def main():
    readme_path = os.path.join(CHART, "README.md")
    readme = open(readme_path).read()
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    wanted = f"{head}{BEGIN}\n{table()}\n{END}{tail}"
    if "--check" in sys.argv:
        if wanted != readme:
            print("FAIL: deploy/helm/ckpt-operator/README.md's values table is stale: run hack/helm-values-doc.py")
            return 1
        print("PASS: the chart README's values table matches values.yaml")
        return 0
    open(readme_path, "w").write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
