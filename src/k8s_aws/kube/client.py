"""Build an API client from a kubeconfig file (or the in-cluster service account)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config


async def api_client(kubeconfig: Path | None) -> client.ApiClient:
    """An ApiClient for `kubeconfig`, or the in-cluster configuration when it is None."""
    configuration = client.Configuration()
    if kubeconfig is None:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(
            config_file=str(kubeconfig), client_configuration=configuration
        )
    return client.ApiClient(configuration)


ApiClient = client.ApiClient


def node_lister(api: client.ApiClient) -> Any:
    """The list/watch function an Informer of Nodes uses."""
    return client.CoreV1Api(api).list_node
