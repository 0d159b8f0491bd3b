import pytest

from k8s_aws.model.instance import InstanceId, InstanceRecord, InterfaceRecord
from k8s_aws.nodes.initialize import NodeAddress, node_addresses, plan_initialization
from k8s_aws.nodes.lifecycle import LifecycleAction, needs_instance_state, plan_lifecycle
from k8s_aws.nodes.naming import (
    Ambiguous,
    Found,
    Lookup,
    Method,
    NotFound,
    choose,
    instance_lookups,
    node_ipv4s,
    private_dns_variants,
    refusal,
)
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


BOSH_UUID = "3f2a6c1e-9b7d-4c5e-8f01-23456789abcd"
DNS = "ip-10-0-0-1.us-west-2.compute.internal"


@pytest.mark.parametrize(
    ("name", "provider_id", "ips", "expected"),
    [
        ("n", "aws:///z/i-12345678", ("10.0.0.1",),
         [(Method.INSTANCE_ID, ("i-12345678",))]),
        ("i-12345678", "", ("10.0.0.1",), [(Method.INSTANCE_ID, ("i-12345678",))]),
        (f"{BOSH_UUID}.k8s", "", (), [(Method.BOSH_ID, (BOSH_UUID,))]),
        (f"{BOSH_UUID}.k8s", "", ("10.0.0.1",),
         [(Method.BOSH_ID, (BOSH_UUID,)), (Method.PRIVATE_IP, ("10.0.0.1",))]),
        (DNS, "", (), [(Method.PRIVATE_DNS, (DNS,))]),
        ("worker-3.corp.example", "", ("10.0.0.7", "10.0.0.8"), [
            (Method.PRIVATE_DNS, ("worker-3.corp.example", "worker-3.us-west-2.compute.internal")),
            (Method.PRIVATE_IP, ("10.0.0.7", "10.0.0.8")),
        ]),
        # Not a BOSH name: upper case, or another suffix, is looked up as a DNS name.
        (f"{BOSH_UUID.upper()}.k8s", "", (), [
            (Method.PRIVATE_DNS, (f"{BOSH_UUID.upper()}.k8s",
                                  f"{BOSH_UUID.upper()}.us-west-2.compute.internal")),
        ]),
    ],
)
def test_names_are_classified_into_lookups_in_order(
    name: str, provider_id: str, ips: tuple[str, ...], expected: list[tuple[Method, tuple[str, ...]]]
) -> None:
    lookups = instance_lookups(name, provider_id, "us-west-2", ips)
    assert [(lookup.method, lookup.values) for lookup in lookups] == expected


def test_node_ips_are_the_ipv4s_of_node_ip_then_internal_ips() -> None:
    assert node_ipv4s("10.0.0.1,fd00::1", ["10.0.0.2", "10.0.0.1", "fd00::2"]) == (
        "10.0.0.1", "10.0.0.2",
    )
    assert node_ipv4s("", []) == ()
    assert node_ipv4s("not-an-ip", ["10.0.0.3"]) == ("10.0.0.3",)


def _record(instance_id: str, state: str = "running") -> InstanceRecord:
    return InstanceRecord(id=InstanceId(instance_id), state=state, instance_type="m5.large",
                          zone="us-west-2a")


@pytest.mark.parametrize("method", [Method.BOSH_ID, Method.PRIVATE_DNS, Method.PRIVATE_IP])
def test_a_name_matches_exactly_one_live_instance(method: Method) -> None:
    lookup = Lookup(method, ("v",))
    assert choose(lookup, []) is None
    assert choose(lookup, [_record("i-1", "terminated"), _record("i-2", "shutting-down")]) is None
    found = choose(lookup, [_record("i-1", "terminated"), _record("i-2", "stopped")])
    assert isinstance(found, Found) and found.instance.id == "i-2"
    both = choose(lookup, [_record("i-2"), _record("i-1", "pending"), _record("i-2")])
    assert both == Ambiguous((InstanceId("i-1"), InstanceId("i-2")), lookup)


def test_by_instance_id_any_state_is_returned_for_the_caller_to_judge() -> None:
    found = choose(Lookup(Method.INSTANCE_ID, ("i-1",)), [_record("i-1", "terminated")])
    assert isinstance(found, Found) and found.instance.state == "terminated"


def test_lookups_say_what_they_tried() -> None:
    assert Lookup(Method.BOSH_ID, (BOSH_UUID,)).describe() == f"BOSH director tag id={BOSH_UUID}"
    assert Lookup(Method.PRIVATE_IP, ("10.0.0.1", "10.0.0.2")).describe() == (
        "private IP 10.0.0.1 or 10.0.0.2"
    )


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


def test_hostname_is_the_nodes_own_name_and_private_dns_is_internal_dns() -> None:
    addresses = node_addresses(INSTANCE, node_name=f"{BOSH_UUID}.k8s")
    assert addresses[0] == NodeAddress("InternalIP", "10.0.32.4")
    assert NodeAddress("Hostname", f"{BOSH_UUID}.k8s") in addresses
    assert NodeAddress("InternalDNS", INSTANCE.private_dns) in addresses
    assert NodeAddress("Hostname", INSTANCE.private_dns) not in addresses


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


def test_refusals_name_what_was_tried_or_the_instances() -> None:
    by_id = Lookup(Method.INSTANCE_ID, ("i-1",))
    reason, message = refusal("n", "us-west-2", Found(_record("i-1", "terminated"), by_id), 30)
    assert reason == "InstanceNotFound" and "instance id i-1" in message and "30s" in message
    tried = (Lookup(Method.BOSH_ID, (BOSH_UUID,)), Lookup(Method.PRIVATE_IP, ("10.0.0.1",)))
    reason, message = refusal("n", "us-west-2", NotFound(tried), 30)
    assert f"tag id={BOSH_UUID}; private IP 10.0.0.1" in message
    both = Ambiguous((InstanceId("i-1"), InstanceId("i-2")), tried[0])
    reason, message = refusal("n", "us-west-2", both, 30)
    assert reason == "AmbiguousInstance" and "i-1, i-2" in message
