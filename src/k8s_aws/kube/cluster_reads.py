"""One-shot reads of the cluster for the operator's tools (`gc`, `doctor`): the objects that
own AWS resources (gc) or prove the set-up works (doctor), read once, as raw API bodies."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from k8s_aws.kube.client import api_client
from k8s_aws.kube.errors import KubeError, translate
from k8s_aws.kube.informer import list_objects

Obj = dict[str, Any]
SNAPSHOTS = ("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")


@dataclass(frozen=True)
class OwnerObjects:
    """What owns AWS resources (`gc`)."""

    services: list[Obj]
    persistent_volumes: list[Obj]
    snapshot_contents: list[Obj] | None  # None: the snapshot CRDs are not installed


@dataclass(frozen=True)
class SetupObjects:
    """What proves the set-up works (`doctor`)."""

    nodes: list[Obj]
    csi_drivers: list[Obj]
    csi_nodes: list[Obj]


async def _list(function: Any, what: str, **kwargs: Any) -> list[Obj]:
    try:
        return list((await list_objects(function, **kwargs)).values())
    except ApiException as exc:
        raise translate(exc, f"list {what}") from None


async def _snapshot_contents(custom: Any) -> list[Obj] | None:
    """One LIST (they are few); None when the snapshot CRDs are not installed (404)."""
    try:
        body = await custom.list_cluster_custom_object(*SNAPSHOTS)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise translate(exc, "list volumesnapshotcontents") from None
    return list(body.get("items", []))


async def read_owners(kubeconfig: Path) -> OwnerObjects:
    """An unreachable API server is a KubeError, never an empty cluster (gc would take
    every resource for leaked)."""
    async with _api(kubeconfig) as api:
        core = client.CoreV1Api(api)
        return OwnerObjects(
            services=await _list(core.list_service_for_all_namespaces, "services"),
            persistent_volumes=await _list(core.list_persistent_volume, "persistentvolumes"),
            snapshot_contents=await _snapshot_contents(client.CustomObjectsApi(api)),
        )


async def read_setup(kubeconfig: Path) -> SetupObjects:
    async with _api(kubeconfig) as api:
        core, storage = client.CoreV1Api(api), client.StorageV1Api(api)
        return SetupObjects(
            nodes=await _list(core.list_node, "nodes"),
            csi_drivers=await _list(storage.list_csi_driver, "csidrivers"),
            csi_nodes=await _list(storage.list_csi_node, "csinodes"),
        )


@contextlib.asynccontextmanager
async def _api(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    """Each tool reads only what it uses; connection trouble is one KubeError."""
    try:
        async with await api_client(kubeconfig) as api:
            yield api
    except (aiohttp.ClientError, OSError) as exc:
        raise KubeError(f"cannot reach the API server of {kubeconfig}: {exc}") from None
