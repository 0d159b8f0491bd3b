"""NodeGetVolumeStats and NodeExpandVolume on a published (or staged) path: what is there
must be this volume's, found from the mount or device itself."""

from __future__ import annotations

import asyncio
import os

import grpc

from k8s_aws.host import blockdev
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.node_checks import block_device_at, describe, volume_at
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.status import Fail, not_found, require

Usage = csi_pb2.VolumeUsage


def _located(volume_id: str, path: str) -> tuple[str, str | None]:
    """(device, fs type or None for raw block) of this volume at `path`, or NOT_FOUND."""
    if not os.path.exists(path):
        raise not_found(f"volume_path {path} does not exist")
    identity, device, mount = volume_at(path)
    if identity != volume_id or device is None:
        raise not_found(f"volume {volume_id} is not at volume_path {path} "
                        f"(it holds {describe(path, identity, mount)})")
    return device, None if block_device_at(path) else (mount.fs_type if mount else None)


def _abnormal(message: str) -> csi_pb2.NodeGetVolumeStatsResponse:
    return csi_pb2.NodeGetVolumeStatsResponse(
        volume_condition=csi_pb2.VolumeCondition(abnormal=True, message=message))


async def stats(request: csi_pb2.NodeGetVolumeStatsRequest
                ) -> csi_pb2.NodeGetVolumeStatsResponse:
    volume_id = require(request.volume_id, "volume_id")
    path = require(request.volume_path, "volume_path")
    if not os.path.exists(path):
        raise not_found(f"volume_path {path} does not exist")
    identity, device, mount = volume_at(path)
    if mount is None:
        return _abnormal(f"volume_path {path} is not a mount point: {volume_id} is not there")
    if identity != volume_id:
        raise not_found(f"volume {volume_id} is not at volume_path {path} "
                        f"(it holds {describe(path, identity, mount)})")
    if device is not None and block_device_at(path):
        total = blockdev.size_bytes(device)
        return csi_pb2.NodeGetVolumeStatsResponse(
            usage=[Usage(unit=Usage.BYTES, total=total)],
            volume_condition=csi_pb2.VolumeCondition(abnormal=False, message="ok"))
    try:
        fs = await asyncio.to_thread(os.statvfs, path)
    except OSError as exc:
        return _abnormal(f"{path}: {exc.strerror}")
    return csi_pb2.NodeGetVolumeStatsResponse(
        usage=[
            Usage(unit=Usage.BYTES, total=fs.f_blocks * fs.f_frsize,
                  available=fs.f_bavail * fs.f_frsize,
                  used=(fs.f_blocks - fs.f_bfree) * fs.f_frsize),
            Usage(unit=Usage.INODES, total=fs.f_files, available=fs.f_favail,
                  used=fs.f_files - fs.f_ffree),
        ],
        volume_condition=csi_pb2.VolumeCondition(abnormal=False, message="ok"))


async def expand(request: csi_pb2.NodeExpandVolumeRequest
                 ) -> csi_pb2.NodeExpandVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    path = require(request.volume_path, "volume_path")
    if request.HasField("volume_capability"):
        reason = capabilities.unsupported(request.volume_capability)
        if reason:
            raise Fail(grpc.StatusCode.INVALID_ARGUMENT, f"volume_capability: {reason}")
    device, fs_type = _located(volume_id, path)
    size = blockdev.size_bytes(device)
    required = request.capacity_range.required_bytes
    if required and size < required:
        raise Fail(grpc.StatusCode.UNAVAILABLE,
                   f"{device} of {volume_id} is {size} bytes, below the required {required}: "
                   "the node has not seen the new size yet")
    if fs_type is not None:  # raw block: nothing to grow
        await blockdev.grow_filesystem(fs_type, device, path)
    return csi_pb2.NodeExpandVolumeResponse(capacity_bytes=size)
