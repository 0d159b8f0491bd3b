"""The writes the service controller makes to Services: finalizer and load balancer status,
each with the resourceVersion it was planned from."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from k8s_aws.kube.errors import translate

MERGE_PATCH = "application/merge-patch+json"


class ServiceWriter:
    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)

    async def set_finalizers(
        self, namespace: str, name: str, resource_version: str, finalizers: list[str]
    ) -> str:
        """Replace metadata.finalizers; returns the new resourceVersion."""
        body = {"metadata": {"resourceVersion": resource_version, "finalizers": finalizers}}
        return await self._patch(namespace, name, body, status=False)

    async def set_hostname(self, namespace: str, name: str, hostname: str | None) -> str:
        """Set (or clear) status.loadBalancer.ingress; returns the new resourceVersion."""
        ingress = [{"hostname": hostname}] if hostname else []
        return await self._patch(
            namespace, name, {"status": {"loadBalancer": {"ingress": ingress}}}, status=True
        )

    async def _patch(self, namespace: str, name: str, body: dict[str, Any], status: bool) -> str:
        patch: Any = (
            self._core.patch_namespaced_service_status if status
            else self._core.patch_namespaced_service
        )
        try:
            patched = await patch(name, namespace, body, _content_type=MERGE_PATCH)
        except ApiException as exc:
            raise translate(exc, f"patch service {namespace}/{name}") from exc
        return str(patched.metadata.resource_version)


def service_lister(api: client.ApiClient) -> Any:
    return client.CoreV1Api(api).list_service_for_all_namespaces
