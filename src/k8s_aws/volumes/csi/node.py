"""Node service, minimal until the node side is built (a later issue): NodeGetInfo (node id =
instance id, zone topology, attach limit), NodeGetCapabilities, and NodeUnpublish / NodeUnstage
of a path where nothing is mounted (OK: csi-sanity's cleanup calls them); the rest UNIMPLEMENTED."""

from __future__ import annotations

import logging
import os
from typing import Any

import grpc

from k8s_aws.cloud.errors import CloudError
from k8s_aws.model.instance import InstanceId
from k8s_aws.volumes import topology
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws.volumes.csi.publish import node_capacity
from k8s_aws.volumes.csi.status import Fail, require, rpc

log = logging.getLogger("k8s_aws.csi.node")


def _later(what: str) -> Fail:
    return Fail(grpc.StatusCode.UNIMPLEMENTED, f"{what}: the node service is not built yet")


def _not_mounted(path: str) -> None:
    """This node service mounts nothing yet, so undoing a mount is done, unless something
    else is mounted there: that it must not touch."""
    if os.path.ismount(path):
        raise _later(f"{path} is a mount point; unmounting")


class Node(csi_pb2_grpc.NodeServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._max_volumes: int | None = None

    @rpc
    async def NodeGetCapabilities(self, request: Any, context: Any
                                  ) -> csi_pb2.NodeGetCapabilitiesResponse:
        return csi_pb2.NodeGetCapabilitiesResponse(capabilities=[])

    async def _max_volumes_per_node(self) -> int:
        """From the instance type, read once; 0 (no limit stated) if AWS cannot tell."""
        if self._max_volumes is None:
            settings = self._backend.settings
            try:
                instance = await self._backend.instances.get(InstanceId(settings.node_id))
                capacity = await node_capacity(self._backend, instance) if instance else 0
            except CloudError as exc:
                log.warning("attach limit unknown: %s", exc)
                return 0
            self._max_volumes = max(0, capacity - settings.reserved_attachments)
        return self._max_volumes

    @rpc
    async def NodeGetInfo(self, request: Any, context: Any) -> csi_pb2.NodeGetInfoResponse:
        settings = self._backend.settings
        if not settings.node_id:
            raise Fail(grpc.StatusCode.FAILED_PRECONDITION, "node id unknown (IMDS or --node-id)")
        return csi_pb2.NodeGetInfoResponse(
            node_id=settings.node_id,
            max_volumes_per_node=await self._max_volumes_per_node(),
            accessible_topology=csi_pb2.Topology(
                segments=topology.accessible_topology(settings.zone)) if settings.zone else None)

    @rpc
    async def NodeStageVolume(self, request: Any, context: Any) -> Any:
        raise _later("NodeStageVolume")

    @rpc
    async def NodeUnstageVolume(self, request: Any, context: Any) -> Any:
        require(request.volume_id, "volume_id")
        _not_mounted(require(request.staging_target_path, "staging_target_path"))
        return csi_pb2.NodeUnstageVolumeResponse()

    @rpc
    async def NodePublishVolume(self, request: Any, context: Any) -> Any:
        raise _later("NodePublishVolume")

    @rpc
    async def NodeUnpublishVolume(self, request: Any, context: Any) -> Any:
        require(request.volume_id, "volume_id")
        _not_mounted(require(request.target_path, "target_path"))
        return csi_pb2.NodeUnpublishVolumeResponse()

    @rpc
    async def NodeGetVolumeStats(self, request: Any, context: Any) -> Any:
        raise _later("NodeGetVolumeStats")

    @rpc
    async def NodeExpandVolume(self, request: Any, context: Any) -> Any:
        raise _later("NodeExpandVolume")
