"""The hand-written objects the renderer takes as they are (the sandbox applies the same
files): the controller-manager's RBAC (rbac.yaml), the CSI sidecars' least-privilege RBAC
(csi-controller-rbac.yaml) and the CSIDriver (csi-driver.yaml), moved to the namespace asked
for: ServiceAccounts, Roles and RoleBindings there, and every binding's subjects with them."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

from k8s_aws.deploy.inputs import DEFAULT_NAMESPACE

CONTROLLER_RBAC = "rbac.yaml"
CSI_RBAC = "csi-controller-rbac.yaml"
CSI_DRIVER = "csi-driver.yaml"


def documents(name: str) -> list[dict[str, Any]]:
    text = resources.files("k8s_aws.deploy").joinpath(name).read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def moved(doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    """`doc` with its kube-system namespace, and its subjects', set to `namespace`."""
    out = copy.deepcopy(doc)
    if out["metadata"].get("namespace") == DEFAULT_NAMESPACE:
        out["metadata"]["namespace"] = namespace
    for subject in out.get("subjects") or []:
        if subject.get("namespace") == DEFAULT_NAMESPACE:
            subject["namespace"] = namespace
    return out


def objects(name: str, namespace: str) -> list[dict[str, Any]]:
    return [moved(doc, namespace) for doc in documents(name)]
