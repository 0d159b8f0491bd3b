"""CreateVolume and DeleteVolume: plan from the parameters, create with a ClientToken derived
from the name (a retried create gets the same volume back from EC2, so no lookup first), and
wait until the volume is available. Only when EC2 says the token was used with other
parameters is the volume looked up by `CSIVolumeName`: an existing one is compared (same:
that volume; different: ALREADY_EXISTS), none means the token's volume was deleted and the
next token generation is tried."""

from __future__ import annotations

import dataclasses
import hashlib
import logging

import grpc

from k8s_aws.cloud.ebs import CreateRequest
from k8s_aws.cloud.errors import TokenReused
from k8s_aws.model.volume import VolumeRecord
from k8s_aws.support.deadline import poll_until
from k8s_aws.volumes import filesystems, topology
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.modify import parse_mutable
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.status import Fail, not_found, require
from k8s_aws.volumes.parameters import VolumeParameters, parse_parameters
from k8s_aws.volumes.sizing import GIB, VolumeSpec, plan_volume
from k8s_aws.volumes.tags import volume_tags

log = logging.getLogger("k8s_aws.csi.provision")
MAX_TOKEN_GENERATIONS = 8


def client_token(name: str, generation: int = 0) -> str:
    """EC2's idempotency token (at most 64 ASCII characters) derived from the CSI name."""
    seed = name if generation == 0 else f"{name}#{generation}"
    return hashlib.sha256(seed.encode()).hexdigest()


def with_mutable(params: VolumeParameters, mutable: dict[str, str]) -> VolumeParameters:
    """A VolumeAttributesClass's parameters (type, iops, throughput) override the class's."""
    change = parse_mutable(mutable)
    return parse_parameters({
        **params.raw,
        **({"type": change.volume_type} if change.volume_type else {}),
        **({"iops": str(change.iops)} if change.iops else {}),
        **({"throughput": str(change.throughput)} if change.throughput else {}),
    }) if mutable else params


async def _create(backend: Backend, name: str, request: CreateRequest,
                  spec: VolumeSpec) -> VolumeRecord:
    """Token generations: EC2 refuses the token of a deleted volume, and a CSI name may come
    back after its volume was deleted. Deterministic, so a retry after a crash replays."""
    for generation in range(MAX_TOKEN_GENERATIONS):
        try:
            return await backend.volumes.create(
                dataclasses.replace(request, client_token=client_token(name, generation)))
        except TokenReused as exc:
            log.info("client token %d of %s already used: %s", generation, name, exc)
        existing = await backend.volumes.find_by_name(name)
        if existing is not None:
            mismatch = _compatible(existing, spec, request.snapshot_id)
            if mismatch:
                raise Fail(grpc.StatusCode.ALREADY_EXISTS,
                           f"volume {name} exists as {existing.id} with {mismatch}")
            return existing
    raise Fail(grpc.StatusCode.ALREADY_EXISTS,
               f"volume {name}: every client token is taken by other parameters")


def _segments(topologies: object) -> list[dict[str, str]]:
    return [dict(t.segments) for t in topologies]  # type: ignore[attr-defined]


def volume_message(volume: VolumeRecord,
                   source: csi_pb2.VolumeContentSource | None = None,
                   context: dict[str, str] | None = None) -> csi_pb2.Volume:
    message = csi_pb2.Volume(
        volume_id=volume.id,
        volume_context=context or {},
        capacity_bytes=volume.size_gib * GIB,
        accessible_topology=[csi_pb2.Topology(
            segments=topology.accessible_topology(volume.zone))],
    )
    if source is not None:
        message.content_source.CopyFrom(source)
    return message


def _compatible(volume: VolumeRecord, spec: VolumeSpec, snapshot_id: str) -> str | None:
    if volume.size_gib != spec.size_gib:
        return f"size {volume.size_gib} GiB, requested {spec.size_gib} GiB"
    if volume.volume_type != spec.volume_type:
        return f"type {volume.volume_type}, requested {spec.volume_type}"
    if snapshot_id and volume.snapshot_id != snapshot_id:
        return f"source snapshot {volume.snapshot_id or 'none'}, requested {snapshot_id}"
    return None


async def _source_snapshot(backend: Backend, request: csi_pb2.CreateVolumeRequest) -> tuple[
        str, int]:
    if not request.HasField("volume_content_source"):
        return "", 0
    source = request.volume_content_source
    if source.HasField("volume"):
        raise Fail(grpc.StatusCode.INVALID_ARGUMENT,
                   "volume cloning is not supported (CLONE_VOLUME not advertised)")
    snapshot_id = require(source.snapshot.snapshot_id, "volume_content_source.snapshot_id")
    snapshot = await backend.snapshots.get(snapshot_id)
    if snapshot is None:
        raise not_found(f"source snapshot {snapshot_id} not found")
    if snapshot.state != "completed":
        # EC2 refuses a volume from a pending snapshot: wait for it, bounded.
        await poll_until(lambda: backend.snapshots.get(snapshot_id),
                         lambda s: s is None or s.state in ("completed", "error"),
                         first_wait=backend.settings.poll_first_wait,  # just read as pending
                         timeout=backend.settings.create_timeout,
                         what=f"snapshot {snapshot_id} to complete")
    return snapshot_id, snapshot.size_gib


async def create_volume(backend: Backend,
                        request: csi_pb2.CreateVolumeRequest) -> csi_pb2.CreateVolumeResponse:
    settings = backend.settings
    name = require(request.name, "name")
    capabilities.check(request.volume_capabilities)
    params = parse_parameters(dict(request.parameters))
    params = with_mutable(params, dict(request.mutable_parameters))
    snapshot_id, snapshot_gib = await _source_snapshot(backend, request)
    spec = plan_volume(params, request.capacity_range.required_bytes,
                       request.capacity_range.limit_bytes, snapshot_gib)
    requirement = request.accessibility_requirements
    zone = topology.choose_zone(_segments(requirement.requisite),
                                _segments(requirement.preferred), settings.zone)
    source = request.volume_content_source if snapshot_id else None
    with backend.inflight.hold(("create", name)):
        tags = volume_tags(name, settings.cluster_name, params, dict(settings.extra_tags))
        volume = await _create(backend, name, CreateRequest(
            zone=zone, size_gib=spec.size_gib, volume_type=spec.volume_type, tags=tags,
            client_token="", iops=spec.iops, throughput=spec.throughput,
            encrypted=spec.encrypted, kms_key_id=spec.kms_key_id, snapshot_id=snapshot_id,
        ), spec)
        log.info("created %s for %s in %s (%s GiB %s, %s)", volume.id, name, zone,
                 spec.size_gib, spec.volume_type, volume.state)
        if volume.state != "available" and not volume.attachments:
            volume = await _wait_available(backend, volume)
    # The mkfs options travel to the node in the volume context (NodeStage formats).
    context = filesystems.volume_context(params.mkfs)
    return csi_pb2.CreateVolumeResponse(volume=volume_message(volume, source, context))


async def _wait_available(backend: Backend, volume: VolumeRecord) -> VolumeRecord:
    volume_id = volume.id
    # It was just created, or just read as creating: first looked at when creates end.
    found = await backend.volumes.wait(
        volume_id, lambda v: v is None or v.state != "creating", kind="create",
        timeout=backend.settings.create_timeout, what=f"volume {volume_id} to be available")
    if found is None or found.state not in ("available", "in-use"):
        # AWS's "created, then gone" (e.g. an unusable KMS key): say so, never loop.
        state = found.state if found else "gone"
        raise Fail(grpc.StatusCode.INTERNAL,
                   f"volume {volume_id} ended {state} after creation (check the KMS key)")
    return found


async def delete_volume(backend: Backend,
                        request: csi_pb2.DeleteVolumeRequest) -> csi_pb2.DeleteVolumeResponse:
    volume_id = require(request.volume_id, "volume_id")
    with backend.inflight.hold(volume_id):
        volume = await backend.volumes.get(volume_id)
        if volume is None:
            return csi_pb2.DeleteVolumeResponse()  # unknown id: already deleted
        if any(a.state in ("attaching", "attached", "busy") for a in volume.attachments):
            raise Fail(grpc.StatusCode.FAILED_PRECONDITION,
                       f"volume {volume_id} is attached to "
                       + ", ".join(a.instance_id for a in volume.attachments))
        await backend.volumes.delete(volume_id)
        log.info("deleted %s", volume_id)
    return csi_pb2.DeleteVolumeResponse()


async def validate(backend: Backend, request: csi_pb2.ValidateVolumeCapabilitiesRequest
                   ) -> csi_pb2.ValidateVolumeCapabilitiesResponse:
    volume_id = require(request.volume_id, "volume_id")
    if not request.volume_capabilities:
        raise Fail(grpc.StatusCode.INVALID_ARGUMENT, "volume_capabilities is required")
    if await backend.volumes.get(volume_id) is None:
        raise not_found(f"volume {volume_id} not found")
    reasons = [r for r in map(capabilities.unsupported, request.volume_capabilities) if r]
    if reasons:
        return csi_pb2.ValidateVolumeCapabilitiesResponse(message="; ".join(reasons))
    confirmed = csi_pb2.ValidateVolumeCapabilitiesResponse.Confirmed(
        volume_capabilities=request.volume_capabilities,
        volume_context=request.volume_context, parameters=request.parameters)
    return csi_pb2.ValidateVolumeCapabilitiesResponse(confirmed=confirmed)
