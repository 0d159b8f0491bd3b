"""The informer's list/relist bookkeeping (the watch path runs against a real API server in
tests/integration/test_node_controllers.py)."""

from __future__ import annotations

import json
from typing import Any

from k8s_aws.kube.informer import Informer, object_key, trimmed


class FakeResponse:
    def __init__(self, body: dict[str, Any]) -> None:
        self._body = json.dumps(body).encode()

    async def read(self) -> bytes:
        return self._body


def node(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": rv}}


class PagedList:
    """Serves the current items in pages of two, like the API server with `limit`."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.version = "1"

    async def __call__(self, **kwargs: Any) -> FakeResponse:
        start = int(kwargs.get("_continue") or 0)
        page = self.items[start : start + 2]
        more = start + 2 < len(self.items)
        return FakeResponse(
            {"items": page,
             "metadata": {"resourceVersion": self.version,
                          "continue": str(start + 2) if more else None}}
        )


async def test_relist_reports_what_changed_while_not_watching() -> None:
    lister = PagedList()
    lister.items = [node("a", "1"), node("b", "1"), node("c", "1")]
    events: list[tuple[str, str]] = []
    informer = Informer("nodes", lister, lambda e, k, o, n: events.append((e, k)), page_size=2)
    cache = informer.cache
    await informer._relist()
    assert informer.synced.is_set()
    assert sorted(events) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    events.clear()
    lister.items = [node("a", "1"), node("b", "2"), node("d", "1")]
    lister.version = "9"
    await informer._relist()
    assert sorted(events) == [("ADDED", "d"), ("DELETED", "c"), ("MODIFIED", "b")]
    assert informer.resource_version == "9"
    assert informer.cache is cache  # controllers keep a reference to it
    assert sorted(cache) == ["a", "b", "d"]


def test_object_keys_are_namespaced_when_the_object_is() -> None:
    assert object_key({"metadata": {"name": "n"}}) == "n"
    assert object_key({"metadata": {"name": "n", "namespace": "ns"}}) == "ns/n"


async def test_the_cache_holds_objects_without_what_no_controller_reads() -> None:
    lister = PagedList()
    listed = node("a", "1")
    listed["metadata"]["managedFields"] = [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]
    listed["status"] = {"images": [{"names": ["registry/app:1"], "sizeBytes": 1}],
                        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}
    lister.items = [listed]
    informer = Informer("nodes", lister, lambda e, k, o, n: None, page_size=2)
    await informer._relist()
    assert informer.cache["a"] == {
        "metadata": {"name": "a", "resourceVersion": "1"},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}
    watched = node("b", "2")
    watched["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    informer._apply({"type": "ADDED", "object": watched})
    assert informer.cache["b"] == node("b", "2")
    assert trimmed({"metadata": {"name": "svc"}, "status": "odd"}) == {
        "metadata": {"name": "svc"}, "status": "odd"}
