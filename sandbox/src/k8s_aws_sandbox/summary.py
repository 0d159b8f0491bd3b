"""What `sandbox up` prints: the parts that run and how to use them."""

from __future__ import annotations

from k8s_aws.deploy.csi_sidecars import CONTROLLER_SERVICE_ACCOUNT, DRIVER_NAME
from k8s_aws_sandbox.state import SandboxState


def _csi_lines(state: SandboxState) -> list[str]:
    if not state.csi_sidecars:
        return []
    socket = state.root / "csi" / "csi.sock"
    return [
        f"  CSI controller   {DRIVER_NAME} (controller mode) on {socket}, as "
        f"ServiceAccount {CONTROLLER_SERVICE_ACCOUNT}",
        f"  CSI sidecars     {' '.join(state.csi_sidecars)}",
        f"  CSIDriver        {DRIVER_NAME}; a CSINode per Node (node id = instance id, "
        "zone topology, attach limit), snapshot CRDs",
    ]


def summary(state: SandboxState) -> str:
    world = state.world
    lines = [
        f"k8s-aws sandbox '{state.cluster}' is up in {state.dir}",
        f"  Kubernetes API   {state.apiserver_url}  (kubeconfig: {state.kubeconfig})",
        f"  AWS emulator     {state.emulator_url}  region {state.region}",
        f"  IMDS (IMDSv2)    {state.imds_url}  as control VM {world.control_instance}",
        f"  VPC              {world.vpc_id}, {len(world.subnets)} subnets, "
        f"node SG {world.node_security_group}",
        f"  worker VMs       {len(world.worker_instances)}: {' '.join(world.worker_instances)}",
        (
            f"  controller-manager  {state.controller_manager_url}/metrics (leader-elected, "
            f"AWS calls in {state.root / 'calls'})"
            if state.controller_manager_url
            else "  controller-manager  not started (--without-controllers)"
        ),
        *_csi_lines(state),
        "",
        "Use it:",
        f"  {state.root / 'bin' / 'kubectl'} get nodes",
        f"  . {state.root / 'aws.env'} && aws ec2 describe-instances",
        f"  k8s-aws sandbox status --dir {state.dir}",
        f"  k8s-aws sandbox down --dir {state.dir}",
    ]
    return "\n".join(lines)

