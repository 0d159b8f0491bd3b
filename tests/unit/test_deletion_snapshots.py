"""The batched deletion snapshots: a mass deletion is read in one batch per family, however
its Services reach the informer and the workers."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from k8s_aws.cloud.services import LoadBalancerReads
from k8s_aws.controllers import service_deletion
from k8s_aws.controllers.service_deletion import Deleting, Deletions
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.support.workqueue import WorkQueue


class Reads:
    """Records each batch read; every named load balancer exists but `missing`."""

    def __init__(self, missing: frozenset[str] = frozenset()) -> None:
        self.classic: list[set[str]] = []
        self.nlb: list[dict[str, tuple[str, str]]] = []
        self.missing = missing

    async def deletion_snapshots(self, names: set[str]) -> dict[str, Observed]:
        self.classic.append(set(names))
        return {n: Observed(vpc_id=f"clb:{n}") for n in names - self.missing}

    async def nlb_deletion_snapshots(
        self, services: dict[str, tuple[str, str]]
    ) -> dict[str, Observed]:
        self.nlb.append(dict(services))
        return {n: Observed(vpc_id=f"nlb:{n}") for n in services if n not in self.missing}


def deleting(*keys: str) -> dict[str, Deleting]:
    return {k: Deleting(f"lb-{k}", k.startswith("nlb"), ("default", k)) for k in keys}


def deletions(reads: Reads) -> Deletions:
    return Deletions(cast(LoadBalancerReads, reads), None, WorkQueue[str]())


async def test_deletions_arriving_one_by_one_are_read_in_one_batch_per_family(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(service_deletion, "SNAPSHOT_GATHER", 0.05)
    reads = Reads()
    under_way = deleting("a", "nlb-b")
    batch = deletions(reads)

    async def arrive_later() -> None:  # kubectl deletes one Service at a time
        for key in ("c", "nlb-d", "e"):
            await asyncio.sleep(0.02)
            under_way.update(deleting(key))

    first = [batch.snapshot(k, lambda: under_way) for k in ("a", "nlb-b")]
    arrivals = asyncio.create_task(arrive_later())
    found = await asyncio.gather(*first)
    await arrivals
    later = [await batch.snapshot(k, lambda: under_way) for k in ("c", "nlb-d", "e")]
    assert [f.vpc_id if f else None for f in (*found, *later)] == [
        "clb:lb-a", "nlb:lb-nlb-b", "clb:lb-c", "nlb:lb-nlb-d", "clb:lb-e"]
    assert reads.classic == [{"lb-a", "lb-c", "lb-e"}]
    assert reads.nlb == [{"lb-nlb-b": ("default", "nlb-b"), "lb-nlb-d": ("default", "nlb-d")}]


async def test_a_worker_asking_during_a_read_waits_for_it_instead_of_reading_again(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(service_deletion, "SNAPSHOT_GATHER", 0.01)
    reads = Reads()
    started, finish = asyncio.Event(), asyncio.Event()
    plain = reads.deletion_snapshots

    async def held(names: set[str]) -> dict[str, Observed]:
        started.set()
        await finish.wait()
        return await plain(names)

    reads.deletion_snapshots = held  # type: ignore[method-assign]
    batch = deletions(reads)
    under_way = deleting("a", "b", "c")
    first = asyncio.create_task(batch.snapshot("a", lambda: under_way))
    await asyncio.wait_for(started.wait(), 5)  # the batch read is under way
    others = asyncio.gather(*(batch.snapshot(k, lambda: under_way) for k in ("b", "c")))
    finish.set()
    assert all(o is not None for o in (await first, *await others))
    assert len(reads.classic) == 1


async def test_a_load_balancer_missing_from_its_fleet_has_no_snapshot(monkeypatch: Any) -> None:
    monkeypatch.setattr(service_deletion, "SNAPSHOT_GATHER", 0.01)
    reads = Reads(missing=frozenset({"lb-gone"}))
    batch = deletions(reads)
    under_way = deleting("gone", "kept")
    assert await batch.snapshot("gone", lambda: under_way) is None
    assert await batch.snapshot("kept", lambda: under_way) is not None
    assert len(reads.classic) == 1
    # Each snapshot is used once: asking again reads again.
    assert await batch.snapshot("kept", lambda: under_way) is not None
    assert len(reads.classic) == 2
