"""Other installers' kubelets may name a node anything (a custom hostname): with no
providerID and a name that is no private DNS name, the kubelet's node IP finds the instance.
The BOSH release passes no --node-ip, so this runs on the private-DNS shape."""

from __future__ import annotations

import json

from k8s_aws_sandbox.kubelets import Vm, node_manifest
from k8s_aws_sandbox.state import SandboxState
from k8s_aws_sandbox.world import launch_vms

from .conftest import ec2_of, kubectl
from .test_node_controllers import wait_initialized
from .vms import next_index


def test_a_custom_named_node_is_found_by_its_provided_node_ip(
    dns_sandbox: SandboxState,
) -> None:
    ec2 = ec2_of(dns_sandbox)
    # A VM no stand-in kubelet serves, and a Node registered for it by hand.
    (instance_id,) = launch_vms(ec2, dns_sandbox.world, "custom", 1, next_index())
    vm = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    name = "edge-1.corp.example"
    manifest = node_manifest(Vm(instance_id, "running", name, vm["PrivateIpAddress"]))
    path = dns_sandbox.root / "custom-node.json"
    path.write_text(json.dumps(manifest))
    kubectl(dns_sandbox, "create", "-f", str(path))
    node = wait_initialized(dns_sandbox, name)
    assert node["spec"]["providerID"].endswith("/" + instance_id)
    addresses = [(a["type"], a["address"]) for a in node["status"]["addresses"]]
    assert addresses[0] == ("InternalIP", vm["PrivateIpAddress"])
    assert ("Hostname", name) in addresses
    kubectl(dns_sandbox, "delete", "node", name)
    ec2.terminate_instances(InstanceIds=[instance_id])
