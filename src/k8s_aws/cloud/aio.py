"""Run a blocking boto3 call in the bounded thread pool, its errors translated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from k8s_aws.cloud.errors import translate

T = TypeVar("T")


async def call(executor: ThreadPoolExecutor, service: str, operation: str,
               fn: Callable[[], T]) -> T:
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, fn)
    except Exception as exc:
        raise translate(exc, service, operation) from exc
