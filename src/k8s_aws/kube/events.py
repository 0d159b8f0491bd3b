"""Kubernetes Events on the objects users look at, with repeats counted instead of re-posted."""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    name: str
    uid: str = ""
    namespace: str = ""
    api_version: str = "v1"

    @classmethod
    def of(cls, obj: dict[str, Any], kind: str, api_version: str = "v1") -> ObjectRef:
        meta = obj["metadata"]
        return cls(kind, meta["name"], meta.get("uid", ""), meta.get("namespace", ""), api_version)


class EventRecorder:
    def __init__(self, api: client.ApiClient, component: str) -> None:
        self._core = client.CoreV1Api(api)
        self._component = component
        self._seen: dict[tuple[str, str, str, str], tuple[str, str, int]] = {}

    async def record(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        """Post an Event (type Normal or Warning); never raises: Events are best effort."""
        namespace = ref.namespace or "default"
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        key = (ref.uid or ref.name, type_, reason, message)
        try:
            previous = self._seen.get(key)
            if previous is not None:
                name, ns, count = previous
                await self._core.patch_namespaced_event(
                    name, ns, {"count": count + 1, "lastTimestamp": now}
                )
                self._seen[key] = (name, ns, count + 1)
                return
            name = f"{ref.name}.{secrets.token_hex(8)}"
            body = {
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {
                    "kind": ref.kind, "name": ref.name, "uid": ref.uid,
                    "namespace": ref.namespace or None, "apiVersion": ref.api_version,
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {"component": self._component},
                "reportingComponent": self._component,
            }
            await self._core.create_namespaced_event(namespace, cast(Any, body))
            self._seen[key] = (name, namespace, 1)
        except ApiException as exc:
            self._seen.pop(key, None)
            log.warning("could not record event %s on %s: HTTP %s", reason, ref.name, exc.status)
