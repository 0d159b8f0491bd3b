"""ControllerExpandVolume and ControllerModifyVolume through one coalescer: requests for a
volume within `modification_window` become a single ModifyVolume (EBS allows few per volume
per window). A refusal for the window is remembered: retries get the same clear error
without calling AWS again until the back-off ends, instead of a hot loop."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import grpc

from k8s_aws.cloud.errors import RateWindowExceeded, WrongState
from k8s_aws.model.volume import ModificationRecord, VolumeId
from k8s_aws.support.coalescer import Coalescer
from k8s_aws.support.deadline import poll_until
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.status import Fail, not_found, require
from k8s_aws.volumes.errors import ParameterError
from k8s_aws.volumes.parameters import VOLUME_TYPES
from k8s_aws.volumes.sizing import GIB, plan_expansion

log = logging.getLogger("k8s_aws.csi.modify")
MUTABLE_KEYS = ("type", "iops", "throughput")


@dataclass(frozen=True)
class Modification:
    size_gib: int | None = None
    volume_type: str | None = None
    iops: int | None = None
    throughput: int | None = None


def merge(first: Modification, second: Modification) -> Modification:
    """Later values win, except that a size never shrinks."""
    merged = dataclasses.replace(first, **{
        f.name: getattr(second, f.name) for f in dataclasses.fields(second)
        if getattr(second, f.name) is not None})
    if first.size_gib and second.size_gib:
        merged = dataclasses.replace(merged, size_gib=max(first.size_gib, second.size_gib))
    return merged


def parse_mutable(raw: dict[str, str]) -> Modification:
    values: dict[str, object] = {}
    for key, value in raw.items():
        lowered = key.lower()
        if lowered == "type":
            if value.lower() not in VOLUME_TYPES:
                raise ParameterError(key, f"{value!r} is not one of {', '.join(VOLUME_TYPES)}")
            values["volume_type"] = value.lower()
        elif lowered in ("iops", "throughput"):
            if not value.isdigit() or int(value) < 1:
                raise ParameterError(key, f"{value!r} is not a positive integer")
            values[lowered] = int(value)
        else:
            raise ParameterError(key, f"not modifiable; allowed: {', '.join(MUTABLE_KEYS)}")
    return Modification(**values)  # type: ignore[arg-type]


class Modifier:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._coalescer: Coalescer[str, Modification, ModificationRecord] = Coalescer(
            merge, self._execute, backend.settings.modification_window)

    async def _execute(self, volume_id: str, change: Modification) -> ModificationRecord:
        backend = self._backend
        refused = backend.refused.get(volume_id)
        if refused is not None:
            raise Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)
        try:
            await backend.volumes.modify(volume_id, change.size_gib, change.volume_type,
                                         change.iops, change.throughput)
        except RateWindowExceeded as exc:
            message = (f"volume {volume_id}: EBS refused another modification within its"
                       f" rate window ({exc.code}); not retried for"
                       f" {backend.settings.refused_modification_backoff:.0f}s")
            backend.refused.put(volume_id, message)
            raise Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, message) from exc
        except WrongState as exc:
            raise Fail(grpc.StatusCode.ABORTED,
                       f"volume {volume_id}: a previous modification is still in progress"
                       ) from exc
        log.info("modifying %s: %s", volume_id, change)
        found = await poll_until(
            lambda: backend.volumes.modification(volume_id),
            lambda m: m is None or m.state in ("optimizing", "completed", "failed"),
            first_wait=backend.settings.poll_first_wait,  # ModifyVolume was just accepted
            timeout=backend.settings.modify_timeout,
            what=f"modification of {volume_id} to take effect")
        if found is not None and found.state == "failed":
            raise Fail(grpc.StatusCode.INTERNAL, f"modification of {volume_id} failed")
        if found is None:
            return ModificationRecord(VolumeId(volume_id), "completed", change.size_gib or 0)
        return found

    async def expand(self, request: csi_pb2.ControllerExpandVolumeRequest
                     ) -> csi_pb2.ControllerExpandVolumeResponse:
        volume_id = require(request.volume_id, "volume_id")
        if not request.HasField("capacity_range"):
            raise Fail(grpc.StatusCode.INVALID_ARGUMENT, "capacity_range is required")
        if request.HasField("volume_capability"):
            capabilities.check([request.volume_capability])
        volume = await self._backend.volumes.get(volume_id)
        if volume is None:
            raise not_found(f"volume {volume_id} not found")
        size = plan_expansion(volume.volume_type, volume.size_gib,
                              request.capacity_range.required_bytes,
                              request.capacity_range.limit_bytes)
        if size is not None:
            refused = self._backend.refused.get(volume_id)
            if refused is not None:
                raise Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)
            await self._coalescer.submit(volume_id, Modification(size_gib=size))
        block = request.HasField("volume_capability") and capabilities.is_block(
            request.volume_capability)
        return csi_pb2.ControllerExpandVolumeResponse(
            capacity_bytes=(size or volume.size_gib) * GIB, node_expansion_required=not block)

    async def modify(self, request: csi_pb2.ControllerModifyVolumeRequest
                     ) -> csi_pb2.ControllerModifyVolumeResponse:
        volume_id = require(request.volume_id, "volume_id")
        change = parse_mutable(dict(request.mutable_parameters))
        if await self._backend.volumes.get(volume_id) is None:
            raise not_found(f"volume {volume_id} not found")
        if change != Modification():
            await self._coalescer.submit(volume_id, change)
        return csi_pb2.ControllerModifyVolumeResponse()
