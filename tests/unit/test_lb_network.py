import pytest

from k8s_aws.loadbalancer.backends import BackendNode, eligible, node_security_group
from k8s_aws.loadbalancer.subnets import NoSubnets, select_subnets, subnets_by_annotation
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.network import GroupRecord, SubnetRecord

C = "prod"
OWNED = ("kubernetes.io/cluster/prod", "owned")
SHARED = ("kubernetes.io/cluster/prod", "shared")
ELB = ("kubernetes.io/role/elb", "1")
INTERNAL = ("kubernetes.io/role/internal-elb", "1")


def subnet(id_: str, zone: str, public: bool, *tags: tuple[str, str]) -> SubnetRecord:
    return SubnetRecord(id_, zone, "vpc-1", public, tuple(tags))


SUBNETS = [
    subnet("subnet-a1", "a", True, SHARED, ELB, ("Name", "pub-a")),
    subnet("subnet-a2", "a", True),  # untagged: a candidate, but ranks below
    subnet("subnet-b1", "b", True, OWNED, ELB),
    subnet("subnet-b0", "b", True, ("kubernetes.io/cluster/other", "owned")),  # other cluster
    subnet("subnet-pa", "a", False, OWNED, INTERNAL),
    subnet("subnet-pb", "b", False, SHARED, INTERNAL),
    subnet("subnet-lz", "c", True, SHARED, ELB),
]
SUBNETS[-1] = SubnetRecord("subnet-lz", "c", "vpc-1", True, (SHARED, ELB), "local-zone")


def test_internet_facing_picks_one_public_subnet_per_zone_by_role_tag() -> None:
    assert select_subnets(SUBNETS, C, internal=False) == ("subnet-a1", "subnet-b1")


def test_internal_prefers_the_internal_role() -> None:
    assert select_subnets(SUBNETS, C, internal=True) == ("subnet-pa", "subnet-pb")


def test_tie_break_is_cluster_tag_then_smallest_id() -> None:
    ties = [subnet("subnet-z", "a", True, SHARED), subnet("subnet-y", "a", True),
            subnet("subnet-x", "a", True, SHARED)]
    assert select_subnets(ties, C, internal=False) == ("subnet-x",)


def test_an_existing_load_balancer_keeps_its_working_subnets() -> None:
    current = ("subnet-a2", "subnet-b1")  # chosen before subnet-a1 got its role tag
    assert select_subnets(SUBNETS, C, internal=False, current=current) == current
    # ...but not a subnet that stopped qualifying (here: gone from the candidates).
    assert select_subnets(SUBNETS, C, internal=False, current=("subnet-gone",)) == (
        "subnet-a1", "subnet-b1")


def test_no_subnet_says_which_tags_to_set() -> None:
    with pytest.raises(NoSubnets, match=r"kubernetes\.io/role/elb=1"):
        select_subnets([subnet("subnet-p", "a", False, OWNED)], C, internal=False)


def test_subnets_annotation_by_id_or_name() -> None:
    assert subnets_by_annotation(SUBNETS, ("pub-a", "subnet-b1")) == ("subnet-a1", "subnet-b1")
    with pytest.raises(NoSubnets, match="'nope'"):
        subnets_by_annotation(SUBNETS, ("nope",))


def node(**changes: object) -> BackendNode:
    base: dict[str, object] = {"name": "n", "provider_id": "aws:///a/i-1", "labels": (),
                               "taint_keys": (), "deleting": False}
    base.update(changes)
    return BackendNode(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("backend", "labels", "ok"),
    [
        (node(), (), True),
        (node(deleting=True), (), False),
        (node(provider_id=""), (), False),
        (node(labels=(("node.kubernetes.io/exclude-from-external-load-balancers", ""),)), (), False),
        (node(taint_keys=("ToBeDeletedByClusterAutoscaler",)), (), False),
        (node(labels=(("pool", "edge"),)), (("pool", "edge"),), True),
        (node(labels=(("pool", "core"),)), (("pool", "edge"),), False),
    ],
)
def test_backend_filter(backend: BackendNode, labels: tuple[tuple[str, str], ...], ok: bool) -> None:
    assert eligible(backend, labels) is ok


def test_node_group_choice() -> None:
    tagged = GroupRecord(SecurityGroupId("sg-2"), (OWNED,))
    other = GroupRecord(SecurityGroupId("sg-1"), ())
    assert node_security_group([other, tagged], C) == ("sg-2", None)
    assert node_security_group([other], C) == ("sg-1", None)
    group, warning = node_security_group([GroupRecord(SecurityGroupId("sg-9"), (SHARED,)), tagged], C)
    assert group == "sg-2" and warning is not None and "sg-2, sg-9" in warning
    group, warning = node_security_group([other, GroupRecord(SecurityGroupId("sg-3"), ())], C)
    assert group is None and warning is not None and "none tagged" in warning
