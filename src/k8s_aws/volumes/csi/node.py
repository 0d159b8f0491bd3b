"""Node service: a thin shell over the node operation modules. One call per volume at a
time (a second one is ABORTED); the node never calls AWS."""

from __future__ import annotations

from typing import Any

import grpc

from k8s_aws.support.inflight import InFlight
from k8s_aws.volumes import topology
from k8s_aws.volumes.csi import node_publish, node_stage, node_volume
from k8s_aws.volumes.csi.node_identity import NodeIdentity
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws.volumes.csi.settings import DriverSettings
from k8s_aws.volumes.csi.status import Fail, rpc

RPC = csi_pb2.NodeServiceCapability.RPC
CAPABILITIES = (RPC.STAGE_UNSTAGE_VOLUME, RPC.GET_VOLUME_STATS, RPC.EXPAND_VOLUME,
                RPC.VOLUME_CONDITION)


class Node(csi_pb2_grpc.NodeServicer):  # type: ignore[misc]
    def __init__(self, settings: DriverSettings, identity: NodeIdentity) -> None:
        self._settings = settings
        self._identity = identity
        self._inflight = InFlight()

    @rpc
    async def NodeGetCapabilities(self, request: Any, context: Any
                                  ) -> csi_pb2.NodeGetCapabilitiesResponse:
        return csi_pb2.NodeGetCapabilitiesResponse(capabilities=[
            csi_pb2.NodeServiceCapability(rpc=RPC(type=c)) for c in CAPABILITIES])

    @rpc
    async def NodeGetInfo(self, request: Any, context: Any) -> csi_pb2.NodeGetInfoResponse:
        identity = self._identity
        if not identity.node_id:
            raise Fail(grpc.StatusCode.UNAVAILABLE,
                       "node id unknown: the instance metadata service has not answered yet "
                       "(see the log; --node-id and --zone set it without IMDS)")
        zone = identity.zone
        return csi_pb2.NodeGetInfoResponse(
            node_id=identity.node_id, max_volumes_per_node=identity.max_volumes,
            accessible_topology=csi_pb2.Topology(
                segments=topology.accessible_topology(zone)) if zone else None)

    @rpc
    async def NodeStageVolume(self, request: csi_pb2.NodeStageVolumeRequest, context: Any
                              ) -> csi_pb2.NodeStageVolumeResponse:
        with self._inflight.hold(request.volume_id or "-"):
            return await node_stage.stage(self._settings, request)

    @rpc
    async def NodeUnstageVolume(self, request: csi_pb2.NodeUnstageVolumeRequest, context: Any
                                ) -> csi_pb2.NodeUnstageVolumeResponse:
        with self._inflight.hold(request.volume_id or "-"):
            return await node_stage.unstage(self._settings, request)

    @rpc
    async def NodePublishVolume(self, request: csi_pb2.NodePublishVolumeRequest, context: Any
                                ) -> csi_pb2.NodePublishVolumeResponse:
        with self._inflight.hold(request.volume_id or "-"):
            return await node_publish.publish(self._settings, request)

    @rpc
    async def NodeUnpublishVolume(self, request: csi_pb2.NodeUnpublishVolumeRequest,
                                  context: Any) -> csi_pb2.NodeUnpublishVolumeResponse:
        with self._inflight.hold(request.volume_id or "-"):
            return await node_publish.unpublish(self._settings, request)

    @rpc
    async def NodeGetVolumeStats(self, request: csi_pb2.NodeGetVolumeStatsRequest,
                                 context: Any) -> csi_pb2.NodeGetVolumeStatsResponse:
        return await node_volume.stats(request)

    @rpc
    async def NodeExpandVolume(self, request: csi_pb2.NodeExpandVolumeRequest, context: Any
                               ) -> csi_pb2.NodeExpandVolumeResponse:
        with self._inflight.hold(request.volume_id or "-"):
            return await node_volume.expand(request)
