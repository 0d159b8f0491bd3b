"""The sidecars' build (one `go build` for all five), their flags, and the CSINode the
sandbox registers in place of node-driver-registrar."""

from __future__ import annotations

import pytest

from k8s_aws.deploy.csi_sidecars import CSI_TIMEOUT, SIDECARS, sidecar_argv
from k8s_aws.volumes.errors import ParameterError
from k8s_aws.volumes.tags import snapshot_metadata_tags, snapshot_tags
from k8s_aws.volumes.topology import accessible_topology
from k8s_aws_sandbox import binaries, csinodes, gomod

SNAPSHOTTER_GOMOD = """module github.com/kubernetes-csi/external-snapshotter/v8

go 1.26.0

require github.com/kubernetes-csi/external-snapshotter/client/v8 v8.4.0

replace github.com/kubernetes-csi/external-snapshotter/client/v8 => ./client

replace k8s.io/kms => k8s.io/kms v0.36.1 // pinned

replace (
\tk8s.io/api => k8s.io/api v0.36.1
\tk8s.io/local => ../local
)
"""


def test_versioned_replaces_keep_module_targets_and_drop_local_paths() -> None:
    assert gomod.versioned_replaces(SNAPSHOTTER_GOMOD) == [
        "replace k8s.io/kms => k8s.io/kms v0.36.1",
        "replace k8s.io/api => k8s.io/api v0.36.1",
    ]


def test_the_sidecars_build_in_one_invocation_with_the_client_module_in_place() -> None:
    build = binaries.CSI_SIDECARS
    assert build in binaries.SANDBOX_BUILDS
    assert build.outputs == ("csi-provisioner", "csi-attacher", "csi-resizer",
                             "csi-snapshotter", "snapshot-controller")
    text = gomod.consumer_gomod(build, list(build.replaces))
    for module, version in build.requires:
        assert f"require {module} {version}" in text
    client = binaries.SNAPSHOT_CLIENT
    assert f"replace {client} => {client} {binaries.SNAPSHOTTER_VERSION}" in text
    assert build.data_module == (client, binaries.SNAPSHOTTER_VERSION)
    assert build.data_dirs == ("config/crd",)
    # Every pinned version names the cache directory: a new attacher rebuilds.
    assert binaries.install_dir(build).name == (
        "csi-sidecars-v6.3.0-v4.12.0-v2.2.0-v8.6.0-v8.6.0")


def test_every_sidecar_that_calls_the_driver_waits_longer_than_the_default_10s() -> None:
    by_name = {s.name: s for s in SIDECARS}
    for sidecar in SIDECARS:
        argv = sidecar_argv(sidecar, "unix:///csi/csi.sock", "127.0.0.1:9808", "/kc")
        assert "--leader-election" in argv and "--kubeconfig=/kc" in argv
        assert "--http-endpoint=127.0.0.1:9808" in argv
        if sidecar.calls_driver:
            assert f"--timeout={CSI_TIMEOUT}" in argv
            assert "--csi-address=unix:///csi/csi.sock" in argv
        else:
            assert not any(a.startswith("--csi-address") for a in argv)
    assert "--extra-create-metadata" in by_name["csi-provisioner"].args
    assert by_name["snapshot-controller"].service_account == "snapshot-controller"


@pytest.mark.parametrize(("instance_type", "count"), [("m5.large", 26), ("m7i.large", 31)])
def test_the_csinode_lists_the_driver_with_instance_id_topology_and_limit(
    instance_type: str, count: int
) -> None:
    body = csinodes.csinode_manifest("abc.k8s", "uid-1", "i-0123", instance_type)
    (driver,) = body["spec"]["drivers"]
    assert driver == {
        "name": "ebs.csi.aws.com", "nodeID": "i-0123",
        "topologyKeys": ["topology.kubernetes.io/zone", "topology.ebs.csi.aws.com/zone"],
        "allocatable": {"count": count},
    }
    assert body["metadata"]["annotations"] == {
        "storage.alpha.kubernetes.io/migrated-plugins": "kubernetes.io/aws-ebs"}
    assert body["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "abc.k8s", "uid": "uid-1"}]


def test_an_unknown_instance_type_states_no_limit() -> None:
    body = csinodes.csinode_manifest("n", "u", "i-1", "no.such")
    assert "allocatable" not in body["spec"]["drivers"][0]


def test_the_node_gets_every_topology_label_it_lacks() -> None:
    have = {"topology.kubernetes.io/zone": "us-west-2a", "other": "x"}
    assert csinodes.needs_labels(have, "us-west-2a") == {
        "topology.ebs.csi.aws.com/zone": "us-west-2a"}
    assert csinodes.needs_labels(accessible_topology("us-west-2b"), "us-west-2b") == {}


def test_snapshot_metadata_becomes_tags_and_any_other_class_parameter_is_refused() -> None:
    extra = snapshot_metadata_tags({"csi.storage.k8s.io/volumesnapshot/name": "s",
                                    "csi.storage.k8s.io/volumesnapshot/namespace": "ns"})
    tags = snapshot_tags("snapshot-1", "c", extra)
    assert tags["kubernetes.io/created-for/volumesnapshot/name"] == "s"
    assert tags["kubernetes.io/created-for/volumesnapshot/namespace"] == "ns"
    assert tags["CSIVolumeSnapshotName"] == "snapshot-1"
    with pytest.raises(ParameterError, match="'tagSpecification_1'"):
        snapshot_metadata_tags({"tagSpecification_1": "a=b"})
