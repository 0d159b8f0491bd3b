"""`k8s-aws gc` on a sandbox of its own (it stops that sandbox's controllers, then its API
server): leaked load balancers, target groups and groups found after their Services were
deleted behind the controller's back, shared ones and an `owned`-only BOSH disk spared,
volumes (made by the sandbox's EBS driver) only with --include-volumes, deletion in order, and `--cluster-gone` leaving nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from k8s_aws.cloud.gc_inventory import inventory
from k8s_aws.ops.gc_plan import find_leaks
from k8s_aws.support.deadline import wait_until
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl
from .csi import GIB, SINGLE_WRITER
from .operator_tools import (
    CLUSTER,
    KEY,
    Operator,
    admin_client,
    assert_declared_and_never_denied,
    last_call_seq,
    make_operator,
)
from .test_service_clb import apply_service, describe_lb, lb_name


@pytest.fixture(scope="module")
def operator(ops_sandbox: SandboxState) -> Operator:
    return make_operator(ops_sandbox)


def _tag_spec(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _nlb_arn(elbv2: Any, svc: dict[str, Any]) -> str | None:
    tags_wanted = f"default/{svc['metadata']['name']}"
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        tags = elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"]
        if {"Key": "kubernetes.io/service-name", "Value": tags_wanted} in tags[0]["Tags"]:
            return str(lb["LoadBalancerArn"])
    return None


def _behind_the_controllers_back(state: SandboxState, *names: str) -> None:
    group = ProcessGroup(state.root)
    pidfile = group.find("controller-manager")
    assert pidfile is not None
    group.stop(pidfile)
    for name in names:
        kubectl(state, "patch", "service", name, "--type=merge", "-p",
                '{"metadata":{"finalizers":null}}')
        kubectl(state, "delete", "service", name, "--wait=true")


def _made_by_the_csi_driver(state: SandboxState) -> tuple[str, str]:
    """A volume and its snapshot from the sandbox's own EBS driver, whose PV and
    VolumeSnapshotContent never were (or were deleted by hand under Retain)."""
    with grpc.insecure_channel(f"unix://{state.root / 'csi' / 'csi.sock'}") as channel:
        controller = csi_pb2_grpc.ControllerStub(channel)
        volume = controller.CreateVolume(csi_pb2.CreateVolumeRequest(
            name="pvc-deleted-by-hand", capacity_range=csi_pb2.CapacityRange(required_bytes=GIB),
            volume_capabilities=[SINGLE_WRITER]), timeout=120).volume.volume_id
        snapshot = controller.CreateSnapshot(csi_pb2.CreateSnapshotRequest(
            source_volume_id=volume, name="snapshot-gone"), timeout=120).snapshot.snapshot_id
    return str(volume), str(snapshot)


@pytest.fixture(scope="module")
def world(ops_sandbox: SandboxState) -> dict[str, Any]:
    """Live and leaked load balancers (made by the controllers), a shared one, a volume whose
    PV was deleted by hand and its snapshot, a BOSH persistent disk."""
    state = ops_sandbox
    elb, elbv2, ec2 = (admin_client(state, s) for s in ("elb", "elbv2", "ec2"))
    live = apply_service(state, "live")
    web = apply_service(state, "web")
    net = apply_service(state, "net", {"type": "nlb"})
    wait_until(lambda: describe_lb(elb, lb_name(web)) and describe_lb(elb, lb_name(live)),
               timeout=120, what="the CLBs")
    net_arn = wait_until(lambda: _nlb_arn(elbv2, net), timeout=120, what="the NLB")
    _behind_the_controllers_back(state, "web", "net")
    volume, snapshot = _made_by_the_csi_driver(state)
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    bosh_disk = ec2.create_volume(AvailabilityZone=zone, Size=1, TagSpecifications=_tag_spec(
        "volume", {KEY: "owned", "director": "bosh", "deployment": CLUSTER,
                   "instance_group": "etcd"}))["VolumeId"]
    subnet = next(iter(state.world.subnets.values()))
    elb.create_load_balancer(
        LoadBalancerName="shared-by-hand", Subnets=[subnet],
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}],
        Tags=[{"Key": KEY, "Value": "shared"},
              {"Key": "kubernetes.io/service-name", "Value": "default/gone"}])
    return {"live": lb_name(live), "web": lb_name(web), "net": net_arn, "volume": volume,
            "snapshot": snapshot, "bosh_disk": bosh_disk}


def _gc(operator: Operator, *args: str) -> Any:
    result = operator.run("gc", "--cluster-name", CLUSTER, *args, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def _listed(operator: Operator, *args: str) -> dict[str, dict[str, Any]]:
    document = json.loads(_gc(operator, *args, "-o", "json").stdout)
    return {f"{i['kind']} {i['name']}": i for i in document["leaked"]}


def test_gc_lists_what_lost_its_owner_and_spares_the_rest(
    operator: Operator, ops_sandbox: SandboxState, world: dict[str, Any]
) -> None:
    since = last_call_seq(ops_sandbox)
    listed = _listed(operator, "--kubeconfig", str(ops_sandbox.kubeconfig))
    kinds = sorted(i["kind"] for i in listed.values())
    assert f"classic-load-balancer {world['web']}" in listed
    assert listed[f"classic-load-balancer {world['web']}"]["owner"] == "Service default/web"
    assert any(i["kind"] == "network-load-balancer" and i["id"] == world["net"]
               for i in listed.values())
    assert kinds.count("target-group") == 1 and kinds.count("security-group") == 2
    assert f"volume {world['volume']}" in listed and listed[f"volume {world['volume']}"]["data"]
    assert f"snapshot {world['snapshot']}" in listed
    everything = json.dumps(listed)
    for spared in (world["live"], "shared-by-hand", world["bosh_disk"], "lb-backends"):
        assert spared not in everything
    assert not [c for c in operator.calls("gc", since) if c.mutating]

    on_the_control_vm = operator.run("gc", "--kubeconfig", str(ops_sandbox.kubeconfig), "-o",
                                     "json", imds=True)  # the cluster name from its own tags
    assert on_the_control_vm.returncode == 0, on_the_control_vm.stderr
    assert {i["id"] for i in json.loads(on_the_control_vm.stdout)["leaked"]} == {
        i["id"] for i in listed.values()}

    text = _gc(operator, "--kubeconfig", str(ops_sandbox.kubeconfig)).stdout
    assert "dry run: nothing deleted; rerun with --delete --include-volumes" in text
    assert "kept unless --include-volumes): 2" in text


def test_gc_delete_removes_them_in_dependency_order_and_keeps_volumes(
    operator: Operator, ops_sandbox: SandboxState, world: dict[str, Any]
) -> None:
    since = last_call_seq(ops_sandbox)
    out = _gc(operator, "--kubeconfig", str(ops_sandbox.kubeconfig), "--delete").stdout
    deletes = [c.action for c in operator.calls("gc", since) if c.mutating and not c.error]
    assert deletes.index("DeleteTargetGroup") > max(
        i for i, a in enumerate(deletes) if a == "DeleteLoadBalancer")
    assert deletes.index("DeleteSecurityGroup") > deletes.index("DeleteTargetGroup")
    assert "DeleteVolume" not in deletes and "DeleteSnapshot" not in deletes
    assert "failed" not in out
    elb = admin_client(ops_sandbox, "elb")
    assert describe_lb(elb, world["web"]) is None
    assert describe_lb(elb, world["live"]) is not None
    remaining = _listed(operator, "--kubeconfig", str(ops_sandbox.kubeconfig))
    assert sorted(i["kind"] for i in remaining.values()) == ["snapshot", "volume"]


def test_cluster_gone_after_the_api_server_stopped_leaves_nothing_of_ours(
    operator: Operator, ops_sandbox: SandboxState, world: dict[str, Any]
) -> None:
    group = ProcessGroup(ops_sandbox.root)
    for name in ("csi-driver", "kube-controller-manager", "kube-scheduler", "kube-apiserver"):
        if (pidfile := group.find(name)) is not None:
            group.stop(pidfile)
    refused = operator.run("gc", "--cluster-name", CLUSTER, "--kubeconfig",
                           str(ops_sandbox.kubeconfig))
    assert refused.returncode != 0 and "cannot reach the API server" in refused.stderr
    out = _gc(operator, "--cluster-gone", "--delete", "--include-volumes").stdout
    assert "failed" not in out and f"deleted: volume {world['volume']}" in out
    ec2, elb, elbv2 = (admin_client(ops_sandbox, s) for s in ("ec2", "elb", "elbv2"))
    assert find_leaks(inventory(ec2, elb, elbv2, CLUSTER), CLUSTER, None) == []
    assert describe_lb(elb, "shared-by-hand") is not None
    assert ec2.describe_volumes(VolumeIds=[world["bosh_disk"]])["Volumes"]
    groups = ec2.describe_security_groups(Filters=[{"Name": f"tag:{KEY}", "Values": ["owned"]}])
    assert [g["GroupName"] for g in groups["SecurityGroups"]] == [f"{CLUSTER}-node"]
    node_group = groups["SecurityGroups"][0]
    assert not [p for perm in node_group["IpPermissions"] for p in perm["UserIdGroupPairs"]
                if "k8s-aws" in p.get("Description", "")]


@pytest.mark.once  # no AWS call, or reads other tests make
def test_bad_input_is_one_line_and_changes_nothing(
    operator: Operator, ops_sandbox: SandboxState, tmp_path: Path
) -> None:
    since = last_call_seq(ops_sandbox)
    for args, expected, credentials in (
        (["--cluster-name", "c" * 107, "--cluster-gone"], "at most 106", True),
        (["--cluster-name", CLUSTER], "--cluster-gone", True),
        (["--cluster-name", CLUSTER, "--cluster-gone", "--delete"], "no AWS credentials", False),
    ):
        result = operator.run("gc", *args, credentials=credentials)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not [c for c in operator.calls("gc", since) if c.mutating]


def test_every_call_gc_made_is_declared_for_it_and_never_denied(operator: Operator) -> None:
    assert_declared_and_never_denied(operator, "gc")
