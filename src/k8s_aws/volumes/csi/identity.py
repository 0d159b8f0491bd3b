"""Identity service. Probe reports local readiness only, never AWS trouble (a failing Probe
makes the plugin crash-loop: the reference's pain point #2031); a node service is ready once
it knows who it is (IMDS answered, or --node-id and --zone were given)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from google.protobuf.wrappers_pb2 import BoolValue

from k8s_aws.volumes.csi.node_identity import NodeIdentity
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws.volumes.csi.settings import DriverSettings
from k8s_aws.volumes.csi.status import rpc

Service = csi_pb2.PluginCapability.Service


class Identity(csi_pb2_grpc.IdentityServicer):  # type: ignore[misc]
    def __init__(self, settings: DriverSettings, node: NodeIdentity | None = None) -> None:
        self._settings = settings
        self._node = node
        self.ready = False

    @rpc
    async def GetPluginInfo(self, request: Any, context: Any) -> csi_pb2.GetPluginInfoResponse:
        return csi_pb2.GetPluginInfoResponse(
            name=self._settings.driver_name, vendor_version=version("k8s-aws"))

    @rpc
    async def GetPluginCapabilities(self, request: Any, context: Any
                                    ) -> csi_pb2.GetPluginCapabilitiesResponse:
        capabilities = [csi_pb2.PluginCapability(
            volume_expansion=csi_pb2.PluginCapability.VolumeExpansion(
                type=csi_pb2.PluginCapability.VolumeExpansion.ONLINE))]
        if self._settings.controller:
            capabilities += [
                csi_pb2.PluginCapability(service=Service(type=Service.CONTROLLER_SERVICE)),
                csi_pb2.PluginCapability(
                    service=Service(type=Service.VOLUME_ACCESSIBILITY_CONSTRAINTS)),
            ]
        return csi_pb2.GetPluginCapabilitiesResponse(capabilities=capabilities)

    @rpc
    async def Probe(self, request: Any, context: Any) -> csi_pb2.ProbeResponse:
        ready = self.ready and (self._node is None or self._node.ready)
        return csi_pb2.ProbeResponse(ready=BoolValue(value=ready))
