"""Controller service: each call is a thin shell over the operation modules."""

from __future__ import annotations

from typing import Any

import grpc

from k8s_aws.volumes.csi import provision, publish, snapshots
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.modify import Modifier
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws.volumes.csi.status import Fail, rpc

RPC = csi_pb2.ControllerServiceCapability.RPC
CAPABILITIES = (
    RPC.CREATE_DELETE_VOLUME, RPC.PUBLISH_UNPUBLISH_VOLUME, RPC.CREATE_DELETE_SNAPSHOT,
    RPC.LIST_SNAPSHOTS, RPC.EXPAND_VOLUME, RPC.MODIFY_VOLUME,
)


def _unimplemented(what: str) -> Fail:
    return Fail(grpc.StatusCode.UNIMPLEMENTED, f"{what} is not supported by this driver")


class Controller(csi_pb2_grpc.ControllerServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._modifier = Modifier(backend)

    @rpc
    async def ControllerGetCapabilities(self, request: Any, context: Any
                                        ) -> csi_pb2.ControllerGetCapabilitiesResponse:
        return csi_pb2.ControllerGetCapabilitiesResponse(capabilities=[
            csi_pb2.ControllerServiceCapability(
                rpc=csi_pb2.ControllerServiceCapability.RPC(type=c))
            for c in CAPABILITIES])

    @rpc
    async def CreateVolume(self, request: csi_pb2.CreateVolumeRequest, context: Any
                           ) -> csi_pb2.CreateVolumeResponse:
        return await provision.create_volume(self._backend, request)

    @rpc
    async def DeleteVolume(self, request: csi_pb2.DeleteVolumeRequest, context: Any
                           ) -> csi_pb2.DeleteVolumeResponse:
        return await provision.delete_volume(self._backend, request)

    @rpc
    async def ValidateVolumeCapabilities(
            self, request: csi_pb2.ValidateVolumeCapabilitiesRequest, context: Any
    ) -> csi_pb2.ValidateVolumeCapabilitiesResponse:
        return await provision.validate(self._backend, request)

    @rpc
    async def ControllerPublishVolume(self, request: csi_pb2.ControllerPublishVolumeRequest,
                                      context: Any) -> csi_pb2.ControllerPublishVolumeResponse:
        return await publish.publish(self._backend, request)

    @rpc
    async def ControllerUnpublishVolume(
            self, request: csi_pb2.ControllerUnpublishVolumeRequest, context: Any
    ) -> csi_pb2.ControllerUnpublishVolumeResponse:
        return await publish.unpublish(self._backend, request)

    @rpc
    async def ControllerExpandVolume(self, request: csi_pb2.ControllerExpandVolumeRequest,
                                     context: Any) -> csi_pb2.ControllerExpandVolumeResponse:
        return await self._modifier.expand(request)

    @rpc
    async def ControllerModifyVolume(self, request: csi_pb2.ControllerModifyVolumeRequest,
                                     context: Any) -> csi_pb2.ControllerModifyVolumeResponse:
        return await self._modifier.modify(request)

    @rpc
    async def CreateSnapshot(self, request: csi_pb2.CreateSnapshotRequest, context: Any
                             ) -> csi_pb2.CreateSnapshotResponse:
        return await snapshots.create(self._backend, request)

    @rpc
    async def DeleteSnapshot(self, request: csi_pb2.DeleteSnapshotRequest, context: Any
                             ) -> csi_pb2.DeleteSnapshotResponse:
        return await snapshots.delete(self._backend, request)

    @rpc
    async def ListSnapshots(self, request: csi_pb2.ListSnapshotsRequest, context: Any
                            ) -> csi_pb2.ListSnapshotsResponse:
        return await snapshots.list_snapshots(self._backend, request)

    @rpc
    async def ListVolumes(self, request: Any, context: Any) -> Any:
        raise _unimplemented("ListVolumes")

    @rpc
    async def GetCapacity(self, request: Any, context: Any) -> Any:
        raise _unimplemented("GetCapacity")

    @rpc
    async def ControllerGetVolume(self, request: Any, context: Any) -> Any:
        raise _unimplemented("ControllerGetVolume")
