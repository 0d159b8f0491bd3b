"""Run blocking boto3 calls in the bounded thread pool, translating their errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from k8s_aws.cloud.errors import translate

T = TypeVar("T")


class Runner:
    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self._executor = executor

    async def __call__(self, service: str, operation: str, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except Exception as exc:
            raise translate(exc, service, operation) from exc
