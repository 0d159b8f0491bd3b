"""ControllerPublish / Unpublish: attach with a free EBS device name, within the instance
type's attachment limit, and wait until attached (or detached).

Retries after a crash find the attachment AWS already has and wait for it, so no second
attachment and no leaked one. A volume or instance that is gone is already unpublished.
AWS calls: the instance comes from the directory's cache, kept up to date by our own
attaches and detaches; a volume our own create just saw available is not read again; any
refusal reads both again (and a device name taken outside the driver picks another).
"""

from __future__ import annotations

import logging

import grpc

from k8s_aws.cloud.errors import Conflict, DeviceInUse, LimitExceeded, NotFound
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.volume import VolumeRecord
from k8s_aws.support.deadline import DeadlineExceeded
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.status import Fail, not_found, require
from k8s_aws.volumes.devices import allocate_device, attach_limit

log = logging.getLogger("k8s_aws.csi.publish")
DEVICE_PATH = "devicePath"


# A volume read (or answered by our own call) this recently, and then available with no
# attachment, is attached without reading it again; any refusal re-reads.
TRUSTED_AGE = 30.0
DEVICE_TRIES = 3  # device names tried when AWS says one is taken outside the driver


async def _instance(backend: Backend, node_id: str, fresh: bool = False) -> InstanceRecord:
    """The running instance behind `node_id`, from the cache kept up to date by our own
    attaches and detaches (`fresh`: read now); NOT_FOUND when there is none."""
    instance = None
    if node_id.startswith("i-"):
        instance = await backend.instances.get(InstanceId(node_id),
                                                max_age=0 if fresh else None)
    if instance is None or instance.state in ("terminated", "shutting-down"):
        raise not_found(f"node {node_id}: no such running instance")
    return instance


async def node_capacity(backend: Backend, instance: InstanceRecord) -> int:
    """Volumes the instance can hold in total (root included); 0 = unknown."""
    kind = await backend.volumes.instance_type(instance.instance_type)
    return attach_limit(kind.max_attachments, kind.shared_with_interfaces,
                        len(instance.interfaces) or 1, reserved=0)


async def _wait_attachment(backend: Backend, volume_id: str, node_id: str,
                           want: str) -> VolumeRecord | None:
    def done(volume: VolumeRecord | None) -> bool:
        attachment = volume.attachment_to(node_id) if volume else None
        if want == "attached":
            return attachment is None or attachment.state == "attached"
        return attachment is None or attachment.state == "detached"

    # Every caller has just seen the attachment in transition (or changed it).
    return await backend.volumes.wait(
        volume_id, done, kind="attach" if want == "attached" else "detach",
        timeout=backend.settings.attach_timeout, what=f"{volume_id} to be {want} to {node_id}")


async def _volume(backend: Backend, volume_id: str) -> VolumeRecord:
    volume = await backend.volumes.get(volume_id)
    if volume is None:
        raise not_found(f"volume {volume_id} not found")
    return volume


async def publish(backend: Backend, request: csi_pb2.ControllerPublishVolumeRequest
                  ) -> csi_pb2.ControllerPublishVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    node_id = require(request.node_id, "node_id")
    if not request.HasField("volume_capability"):
        raise Fail(grpc.StatusCode.INVALID_ARGUMENT, "volume_capability is required")
    capabilities.check([request.volume_capability])
    with backend.inflight.hold(volume_id):
        volume = backend.volumes.known(volume_id, TRUSTED_AGE)
        mine = volume.attachment_to(node_id) if volume else None
        if volume and mine and mine.state == "attached" and len(volume.attachments) == 1:
            # A repeated publish (csi-attacher re-queues): our own wait just saw it attached.
            return csi_pb2.ControllerPublishVolumeResponse(
                publish_context={DEVICE_PATH: mine.device})
        if volume is None or volume.state != "available" or volume.attachments:
            volume = await _volume(backend, volume_id)  # only a free volume is trusted
        instance = await _instance(backend, node_id)
        try:
            device = await _attach(backend, volume, instance)
        except (NotFound, Conflict) as exc:
            # Refused on a view that may be stale (the volume's or the instance's): read
            # both now and decide again, once.
            log.info("attach %s to %s refused (%s); reading both again", volume_id, node_id,
                     exc)
            volume = await _volume(backend, volume_id)
            instance = await _instance(backend, node_id, fresh=True)
            device = await _attach(backend, volume, instance)
    return csi_pb2.ControllerPublishVolumeResponse(publish_context={DEVICE_PATH: device})


async def _attach(backend: Backend, volume: VolumeRecord, instance: InstanceRecord) -> str:
    node_id = instance.id
    others = [a for a in volume.attachments
              if a.instance_id != node_id and a.state in ("attaching", "attached", "busy")]
    if others:
        raise Fail(grpc.StatusCode.FAILED_PRECONDITION,
                   f"volume {volume.id} is attached to {others[0].instance_id}")
    current = volume.attachment_to(node_id)
    if current is not None and current.state == "detaching":
        await _wait_attachment(backend, volume.id, node_id, "detached")
        current = None
    if current is not None and current.state in ("attaching", "attached"):
        # Already ours (a retry, or a restart after AttachVolume): wait, never re-attach.
        if current.state == "attaching":
            await _await_attached(backend, volume.id, node_id)
        backend.instances.note_attached(node_id, current.device, volume.id)
        return current.device
    if volume.state == "creating":
        raise Fail(grpc.StatusCode.UNAVAILABLE, f"volume {volume.id} is still being created")
    if volume.zone and instance.zone and volume.zone != instance.zone:
        raise Fail(grpc.StatusCode.FAILED_PRECONDITION,
                   f"volume {volume.id} is in {volume.zone}, node {node_id} in {instance.zone}")
    device = await _attach_with_free_device(backend, volume.id, instance)
    await _await_attached(backend, volume.id, node_id)
    return device


async def _attach_with_free_device(backend: Backend, volume_id: str,
                                   instance: InstanceRecord) -> str:
    """AttachVolume with a device name free in our view of the instance; when AWS says the
    name is taken (an attachment made outside the driver), read the instance and choose
    again, up to DEVICE_TRIES names."""
    node_id = instance.id
    reserved = backend.reserved_devices.setdefault(node_id, set())
    refused: set[str] = set()  # never the same name twice, whatever the read shows
    for _ in range(DEVICE_TRIES):
        capacity = await node_capacity(backend, instance)
        if capacity and len(instance.block_devices) + len(reserved) >= capacity:
            raise Fail(grpc.StatusCode.RESOURCE_EXHAUSTED,
                       f"node {node_id} ({instance.instance_type}) holds its limit of"
                       f" {capacity} EBS volumes")
        device = allocate_device([d for d, _ in instance.block_devices]
                                 + [instance.root_device, *reserved, *refused])
        reserved.add(device)
        try:
            await backend.volumes.attach(volume_id, node_id, device)
        except DeviceInUse as exc:
            refused.add(device)
            log.info("device %s on %s is taken outside the driver (%s); reading the"
                     " instance again", device, node_id, exc)
            instance = await _instance(backend, node_id, fresh=True)
            continue
        except LimitExceeded as exc:
            raise Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)) from exc
        finally:
            reserved.discard(device)
        backend.instances.note_attached(node_id, device, volume_id)
        log.info("attaching %s to %s as %s", volume_id, node_id, device)
        return device
    raise Fail(grpc.StatusCode.FAILED_PRECONDITION,
               f"node {node_id}: {DEVICE_TRIES} device names in a row were taken outside the"
               f" driver; retry")


async def _await_attached(backend: Backend, volume_id: str, node_id: str) -> None:
    try:
        volume = await _wait_attachment(backend, volume_id, node_id, "attached")
    except DeadlineExceeded:
        # Stuck "attaching" (the reference's #1801): detach so the next try starts clean.
        await _detach(backend, volume_id, node_id)
        backend.instances.forget(node_id)
        raise
    if volume is None or volume.attachment_to(node_id) is None:
        backend.instances.forget(node_id)
        raise Fail(grpc.StatusCode.UNAVAILABLE,
                   f"attachment of {volume_id} to {node_id} vanished; retry")


async def _detach(backend: Backend, volume_id: str, node_id: str) -> None:
    try:
        await backend.volumes.detach(volume_id, node_id)
    except (NotFound, Conflict) as exc:
        log.info("detach %s from %s: %s", volume_id, node_id, exc)


async def unpublish(backend: Backend, request: csi_pb2.ControllerUnpublishVolumeRequest
                    ) -> csi_pb2.ControllerUnpublishVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    node_id = require(request.node_id, "node_id")
    with backend.inflight.hold(volume_id):
        volume = await backend.volumes.get(volume_id)
        attachment = volume.attachment_to(node_id) if volume else None
        if attachment is None or attachment.state == "detached":
            return csi_pb2.ControllerUnpublishVolumeResponse()  # gone or not attached: done
        if attachment.state != "detaching":
            await _detach(backend, volume_id, node_id)
            log.info("detaching %s from %s", volume_id, node_id)
        await _wait_attachment(backend, volume_id, node_id, "detached")
        backend.instances.note_detached(node_id, volume_id)
    return csi_pb2.ControllerUnpublishVolumeResponse()
