import ipaddress

import pytest

from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws_sandbox.layout import (
    ROLE_ELB,
    ROLE_INTERNAL_ELB,
    bosh_vm_tags,
    subnet_layout,
)

ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]


def test_one_public_and_one_private_subnet_per_zone() -> None:
    layout = subnet_layout("c1", ZONES)
    for zone in ZONES:
        kinds = sorted(s.public for s in layout if s.zone == zone)
        assert kinds == [False, True]


def test_role_tags_follow_public_and_private() -> None:
    for subnet in subnet_layout("c1", ZONES):
        assert (ROLE_ELB in subnet.tags) is subnet.public
        assert (ROLE_INTERNAL_ELB in subnet.tags) is not subnet.public


def test_cluster_tag_values_mix_owned_and_shared() -> None:
    values = {s.tags[cluster_tag_key("c1")] for s in subnet_layout("c1", ZONES)}
    assert values == {"owned", "shared"}


def test_subnet_cidrs_do_not_overlap() -> None:
    nets = [ipaddress.ip_network(s.cidr) for s in subnet_layout("c1", ZONES)]
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            assert not a.overlaps(b)


def test_fewer_than_two_zones_is_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        subnet_layout("c1", ["us-west-2a"])


def test_bosh_vm_tags_are_every_tag_the_director_writes_plus_the_deployments() -> None:
    vm_id = "3f2a6c1e-9b7d-4c5e-8f01-23456789abcd"
    tags = bosh_vm_tags("c1", "worker", 4, vm_id, "2026-12-01T22:00:00Z")
    assert tags == {
        "Name": "worker/4",
        "director": "sandbox-director",
        "deployment": "c1",
        "instance_group": "worker",
        "job": "worker",
        "index": "4",
        "id": vm_id,
        "name": f"worker/{vm_id}",
        "created_at": "2026-12-01T22:00:00Z",
        cluster_tag_key("c1"): "owned",
    }
