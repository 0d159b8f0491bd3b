"""Nodes as the node controllers see them, and the writes they make, with optimistic locking
(every write carries the resourceVersion it was planned from)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from k8s_aws.kube.errors import translate

MERGE_PATCH = "application/merge-patch+json"
PROVIDED_NODE_IP = "alpha.kubernetes.io/provided-node-ip"


@dataclass(frozen=True)
class NodeView:
    name: str
    uid: str
    resource_version: str
    provider_id: str
    labels: dict[str, str]
    taints: tuple[dict[str, Any], ...]
    ready: bool
    deleting: bool
    # What the kubelet says of its IPs: its --node-ip, and any InternalIP already set.
    provided_node_ip: str = ""
    internal_ips: tuple[str, ...] = ()

    def has_taint(self, key: str) -> bool:
        return any(t.get("key") == key for t in self.taints)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> NodeView:
        meta, spec, status = raw["metadata"], raw.get("spec", {}), raw.get("status", {})
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions", [])
        )
        return cls(
            name=meta["name"],
            uid=meta.get("uid", ""),
            resource_version=meta.get("resourceVersion", ""),
            provider_id=spec.get("providerID", ""),
            labels=dict(meta.get("labels") or {}),
            taints=tuple(spec.get("taints") or ()),
            ready=ready,
            deleting="deletionTimestamp" in meta,
            provided_node_ip=(meta.get("annotations") or {}).get(PROVIDED_NODE_IP, ""),
            internal_ips=tuple(
                a.get("address", "") for a in status.get("addresses") or ()
                if a.get("type") == "InternalIP"
            ),
        )


class NodeWriter:
    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)

    async def set_addresses(self, node: NodeView, addresses: list[dict[str, str]]) -> NodeView:
        """Replace status.addresses whole (a strategic merge would key them by type and
        collapse several InternalIPs into one); returns the node at its new version."""
        body = {"metadata": {"resourceVersion": node.resource_version},
                "status": {"addresses": addresses}}
        new_version = await self._patch(node.name, body, status=True)
        return replace(node, resource_version=new_version)

    async def update_spec(
        self,
        node: NodeView,
        *,
        labels: dict[str, str] | None = None,
        provider_id: str | None = None,
        taints: list[dict[str, Any]] | None = None,
    ) -> None:
        body: dict[str, Any] = {"metadata": {"resourceVersion": node.resource_version}}
        if labels:
            body["metadata"]["labels"] = labels
        spec: dict[str, Any] = {}
        if provider_id is not None:
            spec["providerID"] = provider_id
        if taints is not None:
            spec["taints"] = taints or None
        if spec:
            body["spec"] = spec
        await self._patch(node.name, body, status=False)

    async def delete(self, node: NodeView) -> None:
        try:
            await self._core.delete_node(
                node.name, body=cast(Any, {"preconditions": {"uid": node.uid}})
            )
        except ApiException as exc:
            if exc.status != 404:
                raise translate(exc, f"delete node {node.name}") from exc

    async def _patch(self, name: str, body: dict[str, Any], status: bool) -> str:
        """Apply a merge patch; returns the node's new resourceVersion."""
        patch: Any = self._core.patch_node_status if status else self._core.patch_node
        try:
            patched = await patch(name, body, _content_type=MERGE_PATCH)
        except ApiException as exc:
            raise translate(exc, f"patch node {name}") from exc
        return str(patched.metadata.resource_version)
