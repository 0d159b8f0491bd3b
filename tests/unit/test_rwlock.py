"""The shared/exclusive lock that keeps a backend-group deletion apart from creates."""

from __future__ import annotations

import asyncio

from k8s_aws.support.rwlock import SharedExclusiveLock


async def _until(condition: object) -> None:
    for _ in range(1000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_shared_holders_overlap_and_exclusive_waits_for_them() -> None:
    lock = SharedExclusiveLock()
    order: list[str] = []
    release = asyncio.Event()

    async def reader(name: str) -> None:
        async with lock.shared():
            order.append(f"{name} in")
            await release.wait()
            order.append(f"{name} out")

    async def writer() -> None:
        async with lock.exclusive():
            order.append("writer")

    readers = [asyncio.create_task(reader(n)) for n in ("r1", "r2")]
    await _until(lambda: lock.shared_holders == 2)
    exclusive = asyncio.create_task(writer())
    await _until(lambda: lock.exclusive_waiting == 1)
    late = asyncio.create_task(reader("r3"))  # arrives while the writer waits: after it
    await _until(lambda: lock.shared_waiting == 1)
    release.set()
    await asyncio.gather(*readers, exclusive, late)
    assert order.index("writer") > order.index("r1 out")
    assert order.index("writer") > order.index("r2 out")
    assert order.index("r3 in") > order.index("writer")


async def test_exclusive_holder_keeps_shared_out_until_done() -> None:
    lock = SharedExclusiveLock()
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with lock.exclusive():
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    reader_done = asyncio.Event()

    async def reader() -> None:
        async with lock.shared():
            reader_done.set()

    second = asyncio.create_task(reader())
    await _until(lambda: lock.shared_waiting == 1)
    assert not reader_done.is_set()
    release.set()
    await asyncio.gather(task, second)
    assert reader_done.is_set() and lock.shared_holders == 0
