#!/usr/bin/env python3
"""Manifests for the test training stack (tests/envtest/control-plane.sh --training-stack).

  stack-manifests.py webhooks UPSTREAM.yaml https://127.0.0.1:PORT CA.crt PREFIX
      An upstream release's webhook configurations (as its kustomize base ships them, pointing at
      an in-cluster Service) re-pointed at a controller listening on loopback: each webhook's
      clientConfig becomes url + caBundle, and each configuration's name gets PREFIX so Trainer's
      and JobSet's (both called e.g. "validating-webhook-configuration") do not collide. Rules,
      paths and failure policies stay exactly the release's.
  stack-manifests.py nodes COUNT
      COUNT simulated p5.48xlarge nodes for kwok: 8 nvidia.com/gpu and 32 vpc.amazonaws.com/efa
      each, instance-type, zone and region labels, and the GPU taint EKS GPU node groups carry.
"""
import base64
import sys

import yaml


def webhooks(upstream, base_url, ca_file, prefix):
    with open(ca_file, "rb") as f:
        ca_bundle = base64.b64encode(f.read()).decode()
    with open(upstream) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        doc["metadata"] = {"name": prefix + doc["metadata"]["name"]}
        for hook in doc.get("webhooks", []):
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": base_url + path, "caBundle": ca_bundle}
            hook["timeoutSeconds"] = 10
    return docs


def node(i):
    name = f"gpu-node-{i}"
    resources = {"cpu": "192", "memory": "2048Gi", "pods": "110", "ephemeral-storage": "8Ti",
                 "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "type": "kwok",
                       "node.kubernetes.io/instance-type": "p5.48xlarge",
                       "topology.kubernetes.io/region": "us-east-1",
                       "topology.kubernetes.io/zone": "us-east-1a"},
        },
        "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]},
        "status": {"capacity": resources, "allocatable": resources,
                   "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                                "kubeletVersion": "fake", "kubeProxyVersion": "fake"}},
    }


def main(argv):
    if len(argv) == 6 and argv[1] == "webhooks":
        docs = webhooks(*argv[2:])
    elif len(argv) == 3 and argv[1] == "nodes":
        docs = [node(i) for i in range(int(argv[2]))]
    else:
        sys.exit(__doc__)
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv)
