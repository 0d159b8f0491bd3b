"""NodePublishVolume / NodeUnpublishVolume: bind the staged filesystem (read-only when asked)
or, for raw block, the device node onto a file at the target path; unpublish unmounts only
what is this volume's, and removes the directory or file it created."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import grpc

from k8s_aws.host import mounts
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.node_checks import (
    capability,
    describe,
    precondition,
    read_only,
    volume_at,
)
from k8s_aws.volumes.csi.node_stage import find_device
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.publish import DEVICE_PATH
from k8s_aws.volumes.csi.settings import DriverSettings
from k8s_aws.volumes.csi.status import Fail, require

log = logging.getLogger("k8s_aws.csi.node")


async def publish(settings: DriverSettings, request: csi_pb2.NodePublishVolumeRequest
                  ) -> csi_pb2.NodePublishVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    target = require(request.target_path, "target_path")
    cap = capability(request)
    staging = require(request.staging_target_path, "staging_target_path")
    ro = read_only(request, cap)
    if capabilities.is_block(cap):
        device = find_device(settings, volume_id, request.publish_context.get(DEVICE_PATH, ""))
        if _already(volume_id, target, ro):
            return csi_pb2.NodePublishVolumeResponse()
        await asyncio.to_thread(_make_file, Path(target))
        await mounts.bind(device, target, read_only=ro)
    else:
        identity, _, staged = volume_at(staging)
        if staged is None or identity != volume_id:
            raise precondition(f"volume {volume_id} is not staged at staging_target_path "
                               f"{staging} (it holds {describe(staging, identity, staged)})")
        if _already(volume_id, target, ro):
            return csi_pb2.NodePublishVolumeResponse()
        await asyncio.to_thread(os.makedirs, target, exist_ok=True)
        await mounts.bind(staging, target, read_only=ro)
    log.info("published %s at %s%s", volume_id, target, " (read-only)" if ro else "")
    return csi_pb2.NodePublishVolumeResponse()


def _already(volume_id: str, target: str, ro: bool) -> bool:
    """True when this volume is already published there as asked; refuses anything else."""
    identity, _, mount = volume_at(target)
    if mount is None:
        return False
    if identity != volume_id:
        raise precondition(f"target_path {target} already holds "
                           f"{describe(target, identity, mount)}, not {volume_id}")
    if mount.read_only != ro:
        raise Fail(grpc.StatusCode.ALREADY_EXISTS,
                   f"volume {volume_id} is published at {target} "
                   f"{'read-only' if mount.read_only else 'read-write'}, asked otherwise")
    return True


def _make_file(target: Path) -> None:
    """The file a raw block device is bound onto (an empty directory left there by a CO
    that expected a filesystem is replaced)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    target.touch(exist_ok=True)


async def unpublish(settings: DriverSettings, request: csi_pb2.NodeUnpublishVolumeRequest
                    ) -> csi_pb2.NodeUnpublishVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    target = require(request.target_path, "target_path")
    while True:  # a target published twice over holds two mounts
        identity, _, mount = volume_at(target)
        if mount is None:
            break
        if identity != volume_id:
            raise precondition(f"target_path {target} holds "
                               f"{describe(target, identity, mount)}, not {volume_id}: "
                               "not unmounting it")
        await mounts.unmount(target)
    await asyncio.to_thread(_remove_target, Path(target))
    log.info("unpublished %s from %s", volume_id, target)
    return csi_pb2.NodeUnpublishVolumeResponse()


def _remove_target(target: Path) -> None:
    """Remove the directory or (raw block) file publish made; never anything with data."""
    if target.is_dir():
        try:
            target.rmdir()
        except OSError as exc:
            raise precondition(f"target_path {target} is not a mount and not empty: "
                               f"not removing it ({exc.strerror})") from None
    elif target.is_file():
        if target.stat().st_size:
            raise precondition(f"target_path {target} is a file with data: not removing it")
        target.unlink()
