"""Work queue, batcher and expiring cache."""

from __future__ import annotations

import asyncio

import pytest

from k8s_aws.support.batcher import Batcher
from k8s_aws.support.deadline import poll_until
from k8s_aws.support.expiring import ExpiringCache
from k8s_aws.support.workqueue import ShutDown, TokenBucket, WorkQueue


async def test_queue_dedupes_keys() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a"):
        queue.add(key)
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["a", "b"]


async def test_a_key_being_processed_is_not_handed_out_twice_but_requeued_after() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")  # changed while being processed
    assert len(queue) == 0
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"


async def test_backoff_grows_per_key_and_forget_resets_it() -> None:
    queue: WorkQueue[str] = WorkQueue(base_delay=1, max_delay=5)
    delays = [queue.add_rate_limited("a") for _ in range(5)]
    assert delays == [1, 2, 4, 5, 5]
    assert queue.failures("a") == 5
    queue.forget("a")
    assert queue.backoff("a") == 1
    queue.shut_down()


async def test_add_after_delivers_once_the_delay_passed() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.05)
    queue.add_after("a", 10)  # a later request does not postpone the earlier one
    assert await asyncio.wait_for(queue.get(), 5) == "a"


async def test_shut_down_releases_waiting_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shut_down()
    with pytest.raises(ShutDown):
        await waiter


def test_token_bucket_allows_a_burst_then_spaces_out() -> None:
    now = [0.0]
    bucket = TokenBucket(qps=10, burst=3, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert bucket.reserve() == pytest.approx(0.1)
    now[0] += 10
    assert bucket.reserve() == 0


async def test_batcher_merges_concurrent_lookups_into_one_call() -> None:
    calls: list[list[int]] = []

    async def fetch(keys: list[int]) -> dict[int, str]:
        calls.append(sorted(keys))
        return {k: f"v{k}" for k in keys if k != 3}

    batcher: Batcher[int, str] = Batcher(fetch, max_size=100, idle=0.05, max_wait=1)
    results = await asyncio.gather(*(batcher.get(k) for k in (1, 2, 3, 2)))
    assert results == ["v1", "v2", None, "v2"]
    assert calls == [[1, 2, 3]]


async def test_batcher_flushes_at_max_size() -> None:
    calls: list[int] = []

    async def fetch(keys: list[int]) -> dict[int, int]:
        calls.append(len(keys))
        return {k: k for k in keys}

    batcher: Batcher[int, int] = Batcher(fetch, max_size=10, idle=0.5, max_wait=5)
    results = await asyncio.gather(*(batcher.get(k) for k in range(25)))
    assert results == list(range(25))
    assert calls == [10, 10, 5]


async def test_batcher_propagates_errors_to_every_waiter() -> None:
    async def fetch(keys: list[int]) -> dict[int, int]:
        raise RuntimeError("boom")

    batcher: Batcher[int, int] = Batcher(fetch, idle=0.01)
    results = await asyncio.gather(batcher.get(1), batcher.get(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_expiring_cache() -> None:
    now = [0.0]
    cache: ExpiringCache[str, int] = ExpiringCache(ttl=10, clock=lambda: now[0])
    cache.put("a", 1)
    assert cache.get("a") == 1
    now[0] = 9.9
    assert cache.get("a") == 1
    now[0] = 10
    assert cache.get("a") is None
    assert len(cache) == 0


async def test_poll_until_with_a_first_wait_does_not_re_read_at_once() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    reads: list[float] = []

    async def fetch() -> int:
        reads.append(loop.time() - started)
        return len(reads)

    assert await poll_until(fetch, lambda n: n >= 2, timeout=5, what="x",
                            interval=0.05, first_wait=0.1) == 2
    assert reads[0] >= 0.1  # the caller had just seen the state: no read before the wait
    reads.clear()
    started = loop.time()
    await poll_until(fetch, lambda n: True, timeout=5, what="x")
    assert reads[0] < 0.05  # without it, the first read is at once
