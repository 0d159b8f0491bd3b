"""A small informer: list, then watch from the list's resourceVersion into a local cache.

Bookmarks keep the resourceVersion fresh; a `410 Gone` (expired resourceVersion) re-lists and
reports what changed in between as ADDED/MODIFIED/DELETED; other errors re-list with back-off.
`synced` is set after the first complete list: nothing may be reconciled before it, or a
planner would read an empty cache as "everything was deleted".

The cache keeps each object without the fields no controller here reads (`trimmed`):
`metadata.managedFields` is half of a Node's memory, a real kubelet's `status.images` often
more; the controllers write by patch, never by replacing a cached object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ListFunction = Callable[..., Awaitable[Any]]
Handler = Callable[[str, str, Obj | None, Obj | None], None]  # event, key, old, new


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone)."""


def trimmed(obj: Obj) -> Obj:
    """`obj` (changed in place) without the fields no controller reads."""
    obj.get("metadata", {}).pop("managedFields", None)
    status = obj.get("status")
    if isinstance(status, dict):
        status.pop("images", None)
    return obj


def object_key(obj: Obj) -> str:
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])


class Informer:
    def __init__(
        self,
        name: str,
        list_function: ListFunction,
        handler: Handler,
        *,
        page_size: int = 500,
        watch_timeout: int = 300,
        max_backoff: float = 30.0,
        list_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self._list = list_function
        self._handler = handler
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._max_backoff = max_backoff
        self._list_kwargs = list_kwargs or {}
        self.cache: dict[str, Obj] = {}
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.lists = 0
        self.expired_watches = 0

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._relist()
                backoff = 0.5
                while True:
                    await self._watch_once()
            except _Expired:
                self.expired_watches += 1
                log.info("%s: watch expired (410 Gone); re-listing", self.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "%s: list/watch failed (%s); retrying in %.1fs", self.name, exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _relist(self) -> None:
        items: dict[str, Obj] = {}
        token = None
        while True:
            response = await self._list(
                limit=self._page_size, _continue=token, _preload_content=False,
                **self._list_kwargs,
            )
            body = json.loads(await response.read())
            for item in body.get("items", []):
                items[object_key(item)] = trimmed(item)
            token = body["metadata"].get("continue")
            if not token:
                break
        self.lists += 1
        old_cache = dict(self.cache)
        # Updated in place: controllers hold a reference to this very dict.
        self.cache.clear()
        self.cache.update(items)
        self.resource_version = body["metadata"]["resourceVersion"]
        for key, obj in items.items():
            old = old_cache.get(key)
            if old is None:
                self._handler("ADDED", key, None, obj)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._handler("MODIFIED", key, old, obj)
        for key, old in old_cache.items():
            if key not in items:
                self._handler("DELETED", key, old, None)
        self.synced.set()

    async def _watch_once(self) -> None:
        try:
            response = await self._list(
                watch=True,
                resource_version=self.resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=self._watch_timeout,
                _preload_content=False,
                _request_timeout=self._watch_timeout + 30,
                **self._list_kwargs,
            )
        except ApiException as exc:
            if exc.status == 410:
                raise _Expired from None
            raise
        buffer = b""
        async with response:
            async for chunk in response.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        self._apply(json.loads(line))

    def _apply(self, event: Obj) -> None:
        kind, obj = event["type"], event["object"]
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            raise RuntimeError(f"watch error: {obj.get('message')}")
        self.resource_version = obj["metadata"]["resourceVersion"]
        if kind == "BOOKMARK":
            return
        key = object_key(obj)
        old = self.cache.get(key)
        if kind == "DELETED":
            self.cache.pop(key, None)
            self._handler("DELETED", key, old, None)
        else:
            self.cache[key] = trimmed(obj)
            self._handler("ADDED" if old is None else "MODIFIED", key, old, obj)


async def list_objects(list_function: ListFunction, **kwargs: Any) -> dict[str, Obj]:
    """One paginated LIST into a key -> object map (for one-shot commands, not controllers)."""
    items: dict[str, Obj] = {}
    token = None
    while True:
        response = await list_function(limit=500, _continue=token, _preload_content=False,
                                       **kwargs)
        body = json.loads(await response.read())
        for item in body.get("items", []):
            items[object_key(item)] = item
        token = body["metadata"].get("continue")
        if not token:
            return items
