import pytest

from k8s_aws.model.instance import InstanceId, InstanceRecord, InterfaceRecord
from k8s_aws.nodes.initialize import NodeAddress, node_addresses, plan_initialization
from k8s_aws.nodes.lifecycle import LifecycleAction, needs_instance_state, plan_lifecycle
from k8s_aws.nodes.naming import ByInstanceId, ByPrivateDns, instance_lookup, private_dns_variants
from k8s_aws.nodes.providerid import InvalidProviderId, format_provider_id, parse_provider_id

INSTANCE = InstanceRecord(
    id=InstanceId("i-0123456789abcdef0"),
    state="running",
    instance_type="m5.large",
    zone="us-west-2b",
    private_dns="ip-10-0-32-4.us-west-2.compute.internal",
    public_dns="ec2-1-2-3-4.us-west-2.compute.amazonaws.com",
    public_ipv4="1.2.3.4",
    interfaces=(
        InterfaceRecord(1, ("10.0.32.9",), ("2600::9",)),
        InterfaceRecord(0, ("10.0.32.4", "10.0.32.5"), ("2600::4",)),
    ),
)


@pytest.mark.parametrize(
    ("provider_id", "instance_id"),
    [
        ("aws:///us-west-2b/i-0123456789abcdef0", "i-0123456789abcdef0"),
        ("aws:////i-0123456789abcdef0", "i-0123456789abcdef0"),
        ("i-0123456789abcdef0", "i-0123456789abcdef0"),
        ("aws:///us-east-1a/i-12345678", "i-12345678"),
    ],
)
def test_provider_id_forms_are_accepted(provider_id: str, instance_id: str) -> None:
    assert parse_provider_id(provider_id) == instance_id


@pytest.mark.parametrize("bad", ["gce://p/z/i-1", "aws:///zone/not-an-id", "", "i-xyz"])
def test_foreign_provider_ids_are_rejected_with_the_forms(bad: str) -> None:
    with pytest.raises(InvalidProviderId, match="aws:///<zone>/<instance-id>"):
        parse_provider_id(bad)


def test_provider_id_round_trip() -> None:
    pid = format_provider_id("us-west-2b", INSTANCE.id)
    assert pid == "aws:///us-west-2b/i-0123456789abcdef0"
    assert parse_provider_id(pid) == INSTANCE.id


def test_lookup_prefers_provider_id_then_instance_id_name_then_dns() -> None:
    assert instance_lookup("n", "aws:///z/i-12345678", "us-west-2") == ByInstanceId(
        InstanceId("i-12345678")
    )
    assert instance_lookup("i-12345678", "", "us-west-2") == ByInstanceId(InstanceId("i-12345678"))
    assert isinstance(instance_lookup("ip-10-0-0-1.x", "", "us-west-2"), ByPrivateDns)


def test_us_east_1_accepts_both_dns_spellings() -> None:
    assert private_dns_variants("ip-10-0-0-1.ec2.internal", "us-east-1") == (
        "ip-10-0-0-1.ec2.internal",
        "ip-10-0-0-1.us-east-1.compute.internal",
    )
    assert private_dns_variants("ip-10-0-0-1", "us-east-1") == (
        "ip-10-0-0-1", "ip-10-0-0-1.ec2.internal", "ip-10-0-0-1.us-east-1.compute.internal",
    )
    assert private_dns_variants("ip-10-0-0-1.eu-west-1.compute.internal", "eu-west-1") == (
        "ip-10-0-0-1.eu-west-1.compute.internal",
    )


def test_addresses_follow_device_index_then_public_then_dns() -> None:
    assert node_addresses(INSTANCE) == (
        NodeAddress("InternalIP", "10.0.32.4"),
        NodeAddress("InternalIP", "10.0.32.5"),
        NodeAddress("InternalIP", "10.0.32.9"),
        NodeAddress("ExternalIP", "1.2.3.4"),
        NodeAddress("InternalDNS", INSTANCE.private_dns),
        NodeAddress("Hostname", INSTANCE.private_dns),
        NodeAddress("ExternalDNS", INSTANCE.public_dns),
    )


def test_ipv6_addresses_only_when_enabled() -> None:
    ips = [a.address for a in node_addresses(INSTANCE, ("ipv4", "ipv6"))]
    assert "2600::4" in ips and "2600::9" in ips
    assert "2600::4" not in [a.address for a in node_addresses(INSTANCE)]


def test_initialization_labels_and_aliases() -> None:
    plan = plan_initialization(INSTANCE, "us-west-2", "usw2-az1")
    assert plan.provider_id == "aws:///us-west-2b/i-0123456789abcdef0"
    assert plan.labels == {
        "node.kubernetes.io/instance-type": "m5.large",
        "beta.kubernetes.io/instance-type": "m5.large",
        "topology.kubernetes.io/zone": "us-west-2b",
        "failure-domain.beta.kubernetes.io/zone": "us-west-2b",
        "topology.kubernetes.io/region": "us-west-2",
        "failure-domain.beta.kubernetes.io/region": "us-west-2",
        "topology.k8s.aws/zone-id": "usw2-az1",
    }
    assert "topology.k8s.aws/zone-id" not in plan_initialization(INSTANCE, "us-west-2", None).labels


@pytest.mark.parametrize(
    ("ready", "tainted", "state", "action"),
    [
        (True, False, None, LifecycleAction.NOTHING),
        (True, True, None, LifecycleAction.REMOVE_SHUTDOWN_TAINT),
        (False, False, None, LifecycleAction.DELETE_NODE),
        (False, False, "terminated", LifecycleAction.DELETE_NODE),
        (False, True, "terminated", LifecycleAction.DELETE_NODE),
        (False, False, "stopped", LifecycleAction.ADD_SHUTDOWN_TAINT),
        (False, True, "stopped", LifecycleAction.NOTHING),
        (False, True, "running", LifecycleAction.REMOVE_SHUTDOWN_TAINT),
        (False, False, "running", LifecycleAction.NOTHING),
        (False, False, "stopping", LifecycleAction.NOTHING),
        (False, False, "shutting-down", LifecycleAction.NOTHING),
        (False, False, "pending", LifecycleAction.NOTHING),
    ],
)
def test_lifecycle_table(
    ready: bool, tainted: bool, state: str | None, action: LifecycleAction
) -> None:
    assert plan_lifecycle(ready, tainted, state) is action


def test_only_not_ready_nodes_need_aws() -> None:
    assert needs_instance_state(False) and not needs_instance_state(True)
