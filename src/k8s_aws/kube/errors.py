"""The Kubernetes client's errors translated into the few our controllers act on."""

from __future__ import annotations

from kubernetes_asyncio.client.exceptions import ApiException


class KubeError(Exception):
    """Base of our Kubernetes API errors."""


class KubeNotFound(KubeError):
    """The object is gone."""


class KubeConflict(KubeError):
    """Someone changed the object since we read it: re-read and retry."""


def translate(exc: ApiException, what: str) -> KubeError:
    if exc.status == 404:
        return KubeNotFound(f"{what}: not found")
    if exc.status == 409:
        return KubeConflict(f"{what}: conflict, object changed")
    return KubeError(f"{what}: HTTP {exc.status} {exc.reason}")
