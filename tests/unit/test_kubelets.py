from k8s_aws.sandbox.kubelets import (
    KWOK_ANNOTATION,
    UNINITIALIZED_TAINT,
    Vm,
    kubelet_annotation,
    node_manifest,
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
