from k8s_aws_sandbox.kubelets import (
    KWOK_ANNOTATION,
    UNINITIALIZED_TAINT,
    Vm,
    kubelet_annotation,
    node_manifest,
    vms_by_node_name,
)

VM = Vm("i-1", "running", "ip-10-0-16-5.us-west-2.compute.internal", "10.0.16.5")


def test_node_registers_like_an_external_cloud_provider_kubelet() -> None:
    node = node_manifest(VM)
    assert node["metadata"]["name"] == VM.private_dns
    assert node["spec"]["taints"] == [
        {"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}
    ]
    assert "providerID" not in node["spec"]
    assert node["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"
    assert (
        node["metadata"]["annotations"]["volumes.kubernetes.io/controller-managed-attach-detach"]
        == "true"
    )
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == VM.private_dns


def test_kubelet_is_stopped_unless_the_vm_runs() -> None:
    assert kubelet_annotation(VM) is None
    for state in ("pending", "stopping", "stopped", "shutting-down", "terminated"):
        assert kubelet_annotation(Vm("i-1", state, "n", "ip")) == "stopped"
    assert kubelet_annotation(None) == "stopped"


BOSH_VM = Vm("i-2", "running", "ip-10-0-16-6.us-west-2.compute.internal", "10.0.16.6",
             "3f2a6c1e-9b7d-4c5e-8f01-23456789abcd", "worker")


def test_the_bosh_release_names_nodes_by_instance_id_with_no_node_ip() -> None:
    node = node_manifest(BOSH_VM, "bosh")
    name = "3f2a6c1e-9b7d-4c5e-8f01-23456789abcd.k8s"
    assert node["metadata"]["name"] == name
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == name
    assert "alpha.kubernetes.io/provided-node-ip" not in node["metadata"]["annotations"]
    assert "addresses" not in node["status"] and "providerID" not in node["spec"]
    assert node["spec"]["taints"] == [
        {"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}
    ]
    assert "node-role.kubernetes.io/master" not in node["metadata"]["labels"]


def test_the_release_control_vm_is_a_master_labelled_and_tainted_node() -> None:
    control = Vm("i-3", "running", "ip-10-0-16-7.x", "10.0.16.7", "c0ffee00-0000-4000-8000-0000000000aa",
                 "control")
    node = node_manifest(control, "bosh")
    assert node["metadata"]["labels"]["node-role.kubernetes.io/master"] == ""
    assert {"key": "node-role.kubernetes.io/master", "value": "true", "effect": "NoSchedule"} in (
        node["spec"]["taints"]
    )


def test_a_recreated_vm_keeps_its_bosh_name_and_the_running_one_wins() -> None:
    dead = Vm("i-old", "terminated", "ip-a", "10.0.0.1", BOSH_VM.bosh_id)
    assert vms_by_node_name([BOSH_VM, dead], "bosh")[f"{BOSH_VM.bosh_id}.k8s"] == BOSH_VM
    assert vms_by_node_name([dead, BOSH_VM], "bosh")[f"{BOSH_VM.bosh_id}.k8s"] == BOSH_VM
    assert vms_by_node_name([Vm("i-x", "running", "ip-b", "10.0.0.2")], "bosh") == {}
