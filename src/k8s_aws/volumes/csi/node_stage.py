"""NodeStageVolume / NodeUnstageVolume: find the volume's device (confirmed by the device
itself), format it only when blank, mount it at the staging path, grow a filesystem smaller
than its device; unstage unmounts only a mount of this very volume. Every request field is
checked before any device is touched."""

from __future__ import annotations

import asyncio
import logging
import os

from k8s_aws.host import blockdev, mounts, resolver
from k8s_aws.volumes import filesystems
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.node_checks import capability, describe, precondition, volume_at
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.publish import DEVICE_PATH
from k8s_aws.volumes.csi.settings import DriverSettings
from k8s_aws.volumes.csi.status import require

log = logging.getLogger("k8s_aws.csi.node")


def find_device(settings: DriverSettings, volume_id: str, device_path: str) -> str:
    return resolver.resolve(volume_id, device_path, settings.device_dirs)


async def stage(settings: DriverSettings, request: csi_pb2.NodeStageVolumeRequest
                ) -> csi_pb2.NodeStageVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    staging = require(request.staging_target_path, "staging_target_path")
    cap = capability(request)
    device_path = request.publish_context.get(DEVICE_PATH, "")
    if capabilities.is_block(cap):
        find_device(settings, volume_id, device_path)  # attached here, and really this one
        return csi_pb2.NodeStageVolumeResponse()
    fs_type = filesystems.fs_type_of(cap.mount.fs_type)
    options = filesystems.parse_context(dict(request.volume_context), fs_type)
    device = find_device(settings, volume_id, device_path)
    current = mounts.mount_at(staging)
    if current is not None:
        if current.device_numbers != mounts.device_numbers(device):
            identity, _, _ = volume_at(staging)
            raise precondition(f"staging_target_path {staging} already holds "
                               f"{describe(staging, identity, current)}, not {volume_id}")
        await _grow(volume_id, current.fs_type, device, staging)
        return csi_pb2.NodeStageVolumeResponse()
    action = filesystems.stage_action(volume_id, device, await blockdev.probe(device), fs_type)
    if action.refusal:
        raise precondition(action.refusal)
    await asyncio.to_thread(os.makedirs, staging, exist_ok=True)
    if action.format:
        log.info("formatting %s (%s) as %s", volume_id, device, fs_type)
        await blockdev.make_filesystem(filesystems.mkfs_command(fs_type, device, options))
    elif fs_type != "xfs":
        await _grow(volume_id, fs_type, device, "")  # ext grows best before its mount
    await mounts.mount(device, staging, fs_type,
                       filesystems.mount_options(fs_type, list(cap.mount.mount_flags)))
    if fs_type == "xfs":
        await _grow(volume_id, fs_type, device, staging)  # xfs grows only mounted
    log.info("staged %s (%s, %s) at %s", volume_id, device, fs_type, staging)
    return csi_pb2.NodeStageVolumeResponse()


async def _grow(volume_id: str, fs_type: str, device: str, mount_point: str) -> None:
    """A filesystem smaller than its device (restored from a smaller snapshot) is grown."""
    size = await blockdev.filesystem_bytes(fs_type, device, mount_point)
    if not filesystems.needs_growth(size, blockdev.size_bytes(device)):
        return
    log.info("growing %s on %s (%s) to its device", fs_type, volume_id, device)
    if mount_point:
        await blockdev.grow_filesystem(fs_type, device, mount_point)
    else:
        await blockdev.grow_unmounted(device)


async def unstage(settings: DriverSettings, request: csi_pb2.NodeUnstageVolumeRequest
                  ) -> csi_pb2.NodeUnstageVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    staging = require(request.staging_target_path, "staging_target_path")
    identity, _, mount = volume_at(staging)
    if mount is None:
        return csi_pb2.NodeUnstageVolumeResponse()  # nothing staged there (any more)
    if identity != volume_id:
        raise precondition(f"staging_target_path {staging} holds "
                           f"{describe(staging, identity, mount)}, not {volume_id}: "
                           "not unmounting it")
    await mounts.unmount(staging)
    log.info("unstaged %s from %s", volume_id, staging)
    return csi_pb2.NodeUnstageVolumeResponse()
