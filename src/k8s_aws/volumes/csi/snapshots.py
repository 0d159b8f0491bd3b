"""CreateSnapshot / DeleteSnapshot / ListSnapshots. A snapshot is found by its
`CSIVolumeSnapshotName` tag before one is created, so a retry never makes a second one."""

from __future__ import annotations

import logging

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from k8s_aws.model.volume import SnapshotRecord
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.status import Fail, not_found, require
from k8s_aws.volumes.sizing import GIB
from k8s_aws.volumes.tags import snapshot_metadata_tags, snapshot_tags

log = logging.getLogger("k8s_aws.csi.snapshots")


def snapshot_message(snapshot: SnapshotRecord) -> csi_pb2.Snapshot:
    created = Timestamp()
    created.FromNanoseconds(int(snapshot.created * 1e9))
    return csi_pb2.Snapshot(
        snapshot_id=snapshot.id, source_volume_id=snapshot.volume_id,
        size_bytes=snapshot.size_gib * GIB, creation_time=created,
        ready_to_use=snapshot.state == "completed")


async def create(backend: Backend, request: csi_pb2.CreateSnapshotRequest
                 ) -> csi_pb2.CreateSnapshotResponse:
    name = require(request.name, "name")
    volume_id = require(request.source_volume_id, "source_volume_id")
    metadata = snapshot_metadata_tags(dict(request.parameters))  # ParameterError: INVALID
    with backend.inflight.hold(("snapshot", name)):
        snapshot = await backend.snapshots.find_by_name(name)
        if snapshot is not None:
            if snapshot.volume_id != volume_id:
                raise Fail(grpc.StatusCode.ALREADY_EXISTS,
                           f"snapshot {name} exists as {snapshot.id} of {snapshot.volume_id}")
        else:
            if await backend.volumes.get(volume_id) is None:
                raise not_found(f"source volume {volume_id} not found")
            snapshot = await backend.snapshots.create(
                volume_id, snapshot_tags(name, backend.settings.cluster_name, metadata))
            log.info("created %s of %s for %s", snapshot.id, volume_id, name)
    return csi_pb2.CreateSnapshotResponse(snapshot=snapshot_message(snapshot))


async def delete(backend: Backend, request: csi_pb2.DeleteSnapshotRequest
                 ) -> csi_pb2.DeleteSnapshotResponse:
    snapshot_id = require(request.snapshot_id, "snapshot_id")
    with backend.inflight.hold(snapshot_id):
        if snapshot_id.startswith("snap-"):
            await backend.snapshots.delete(snapshot_id)
    return csi_pb2.DeleteSnapshotResponse()


async def list_snapshots(backend: Backend, request: csi_pb2.ListSnapshotsRequest
                         ) -> csi_pb2.ListSnapshotsResponse:
    """The driver's snapshots in id order; the token is an offset into that order."""
    if request.max_entries < 0:
        raise Fail(grpc.StatusCode.INVALID_ARGUMENT, "max_entries must not be negative")
    if request.snapshot_id:
        found = await backend.snapshots.get(request.snapshot_id)
        snapshots = [found] if found is not None else []
    else:
        snapshots = await backend.snapshots.list_ours()
    if request.source_volume_id:
        snapshots = [s for s in snapshots if s.volume_id == request.source_volume_id]
    snapshots.sort(key=lambda s: s.id)
    start = 0
    if request.starting_token:
        if not request.starting_token.isdigit() or int(request.starting_token) > len(snapshots):
            raise Fail(grpc.StatusCode.ABORTED,
                       f"starting_token {request.starting_token!r} is not valid")
        start = int(request.starting_token)
    end = start + request.max_entries if request.max_entries else len(snapshots)
    page = snapshots[start:end]
    next_token = str(end) if end < len(snapshots) else ""
    return csi_pb2.ListSnapshotsResponse(
        entries=[csi_pb2.ListSnapshotsResponse.Entry(snapshot=snapshot_message(s))
                 for s in page],
        next_token=next_token)
