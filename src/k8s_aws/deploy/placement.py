"""Where the pods go. Control VMs: kubeadm labels and taints them
`node-role.kubernetes.io/control-plane`, the BOSH release only `node-role.kubernetes.io/master`
(label `""`, taint `=true:NoSchedule`): tolerate both taints with any value and select nodes
carrying either label. The controllers also tolerate the uninitialized taint, which they are
the ones to lift. The node plugin tolerates every taint: a node without it cannot mount."""

from __future__ import annotations

from typing import Any

UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
CONTROL_ROLES = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def control_tolerations() -> list[dict[str, Any]]:
    return [
        {"key": UNINITIALIZED, "operator": "Exists", "effect": "NoSchedule"},
        *({"key": role, "operator": "Exists", "effect": "NoSchedule"} for role in CONTROL_ROLES),
    ]


def every_taint() -> list[dict[str, Any]]:
    return [{"operator": "Exists"}]


def control_node_affinity() -> dict[str, Any]:
    """Either label: node selector terms are ORed."""
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": role, "operator": "Exists"}]} for role in CONTROL_ROLES
    ]}}


def spread(labels: dict[str, str], required: bool) -> dict[str, Any]:
    """One replica per node: required when replicas would clash on a host port, else
    preferred (so several still fit on a single control VM)."""
    term = {"labelSelector": {"matchLabels": dict(labels)},
            "topologyKey": "kubernetes.io/hostname"}
    if required:
        return {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    return {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}


def on_control_vms(labels: dict[str, str], spread_required: bool) -> dict[str, Any]:
    """The pod spec fields that place a controller on the control VMs' host network (IMDS
    with one hop, the control VMs' instance profile)."""
    return {
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "priorityClassName": "system-cluster-critical",
        "tolerations": control_tolerations(),
        "affinity": {"nodeAffinity": control_node_affinity(),
                     "podAntiAffinity": spread(labels, spread_required)},
    }
