"""The sandbox runs the CSI driver's controller as a deployment would: a process on the
control VM, identity and credentials from its IMDS, serving on DIR/csi/csi.sock."""

from __future__ import annotations

import grpc

from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws_sandbox.state import SandboxState


def test_sandbox_serves_the_csi_controller(sandbox: SandboxState) -> None:
    socket = sandbox.root / "csi" / "csi.sock"
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        identity = csi_pb2_grpc.IdentityStub(channel)
        info = identity.GetPluginInfo(csi_pb2.GetPluginInfoRequest(), timeout=10)
        assert info.name == "ebs.csi.aws.com"
        assert identity.Probe(csi_pb2.ProbeRequest(), timeout=10).ready.value
        controller = csi_pb2_grpc.ControllerStub(channel)
        caps = controller.ControllerGetCapabilities(
            csi_pb2.ControllerGetCapabilitiesRequest(), timeout=10)
        assert len(caps.capabilities) >= 5
