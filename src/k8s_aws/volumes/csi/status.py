"""Our errors -> CSI status codes, in one place, as the CSI spec lists them per call."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from k8s_aws.cloud import errors as cloud
from k8s_aws.host import resolver
from k8s_aws.host.blockdev import MissingCapability
from k8s_aws.host.commands import HostError
from k8s_aws.support.deadline import DeadlineExceeded
from k8s_aws.support.inflight import Busy
from k8s_aws.volumes import errors as plan

log = logging.getLogger("k8s_aws.csi")
MAX_STRING = 128  # CSI: strings at most 128 bytes


class Fail(Exception):
    """A call refused with an explicit CSI code."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def invalid(message: str) -> Fail:
    return Fail(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> Fail:
    return Fail(grpc.StatusCode.NOT_FOUND, message)


_BY_TYPE: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (Busy, grpc.StatusCode.ABORTED),
    (plan.ParameterError, grpc.StatusCode.INVALID_ARGUMENT),
    (plan.CapacityError, grpc.StatusCode.OUT_OF_RANGE),
    (plan.TopologyError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (plan.NoDeviceName, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (resolver.NotAttached, grpc.StatusCode.NOT_FOUND),
    (resolver.WrongDevice, grpc.StatusCode.FAILED_PRECONDITION),
    (MissingCapability, grpc.StatusCode.FAILED_PRECONDITION),
    (HostError, grpc.StatusCode.INTERNAL),
    (cloud.NotFound, grpc.StatusCode.NOT_FOUND),
    (cloud.Throttled, grpc.StatusCode.UNAVAILABLE),
    (cloud.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (cloud.CredentialsRejected, grpc.StatusCode.UNAUTHENTICATED),
    (cloud.Denied, grpc.StatusCode.PERMISSION_DENIED),
    (cloud.LimitExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (cloud.RateWindowExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (cloud.Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (cloud.Invalid, grpc.StatusCode.INVALID_ARGUMENT),
    (cloud.NotConfigured, grpc.StatusCode.FAILED_PRECONDITION),
)


def to_status(exc: Exception) -> tuple[grpc.StatusCode, str] | None:
    if isinstance(exc, Fail):
        return exc.code, str(exc)
    for kind, code in _BY_TYPE:
        if isinstance(exc, kind):
            return code, str(exc)
    return None


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def rpc(method: F) -> F:
    """Run one CSI call: our errors become their status code; anything else INTERNAL. Each
    call's duration is logged (`csi_call`, `code`, `seconds`, `volume`: the request's volume id
or name), the driver's own measure of
    its share (bench/ebs_e2e.py reads it)."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Any) -> Any:
        started = time.monotonic()
        code = grpc.StatusCode.OK
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            code = grpc.StatusCode.UNKNOWN
            raise
        except Exception as exc:
            status = to_status(exc)
            if status is None:
                log.exception("%s failed", method.__name__)
                status = (grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
            code = status[0]
            log.info("%s -> %s: %s", method.__name__, status[0].name, status[1])
            await context.abort(status[0], status[1])
        finally:
            log.info("csi call %s", method.__name__, extra={
                "csi_call": method.__name__, "code": code.name,
                "seconds": round(time.monotonic() - started, 4),
                "volume": getattr(request, "volume_id", "") or getattr(request, "name", "")})

    return wrapper  # type: ignore[return-value]


def require(value: str, field: str) -> str:
    if not value:
        raise invalid(f"{field} is required")
    if len(value.encode()) > MAX_STRING:
        raise invalid(f"{field} is longer than {MAX_STRING} bytes")
    return value
