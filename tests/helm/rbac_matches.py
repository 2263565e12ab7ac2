#!/usr/bin/env python3
"""The chart's RBAC, rendered with default values, grants exactly what deploy/rbac grants: the
same rules (compared as sets of (group, resource, verb)), role references and subjects, object by
object. With watchNamespaces, the namespaced rules move into a Role per namespace and the
ClusterRole keeps only the cluster-scoped ones, with the same union.
Usage: rbac_matches.py DEPLOY_RBAC_DIR RENDERED_DEFAULT.yaml RENDERED_NAMESPACED.yaml NS..."""
import glob
import sys

import yaml

RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"}


def grants(rules):
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def load(paths):
    docs = [d for p in paths for d in yaml.safe_load_all(open(p)) if d]
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
            for d in docs if d["kind"] in RBAC_KINDS}


def summary(obj):
    return {"rules": grants(obj.get("rules", [])), "roleRef": obj.get("roleRef"),
            "subjects": sorted(map(str, obj.get("subjects", [])))}


def main(rbac_dir, default, namespaced, namespaces):
    want = load(sorted(glob.glob(f"{rbac_dir}/*.yaml")))
    want = {k: v for k, v in want.items() if k[0] in RBAC_KINDS}
    got = load([default])
    failures = [f"{k}: only in {'deploy/rbac' if k in want else 'the chart'}" for k in want.keys() ^ got.keys()]
    failures += [f"{k}: differs: {summary(want[k])} vs {summary(got[k])}"
                 for k in want.keys() & got.keys() if summary(want[k]) != summary(got[k])]
    cluster = want[("ClusterRole", "", "ckpt-operator")]["rules"]
    scoped = load([namespaced])
    cluster_only = grants(scoped[("ClusterRole", "", "ckpt-operator")]["rules"])
    for ns in namespaces:
        role = grants(scoped[("Role", ns, "ckpt-operator")]["rules"])
        if role | cluster_only != grants(cluster) or role & cluster_only:
            failures.append(f"namespace-scoped: Role in {ns} + ClusterRole != deploy/rbac's ClusterRole")
        if ("RoleBinding", ns, "ckpt-operator") not in scoped:
            failures.append(f"namespace-scoped: no RoleBinding in {ns}")
    if any(r in {"persistentvolumeclaims", "pods", "checkpointstores"} for _, r, _ in cluster_only):
        failures.append("namespace-scoped: the ClusterRole grants namespaced resources")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"PASS: chart RBAC == deploy/rbac ({len(want)} objects, {len(grants(cluster))} grants); "
              f"namespace-scoped: {len(cluster_only)} cluster-scoped grants + a Role in each of {', '.join(namespaces)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
